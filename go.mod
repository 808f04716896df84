module github.com/hwvault/hwvault

go 1.26

require github.com/qmuntal/stateless v1.7.2
