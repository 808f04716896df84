module github.com/hwvault/hwvault

go 1.26

require (
	github.com/google/go-cmp v0.7.0
	github.com/qmuntal/stateless v1.7.2
)
