package postgres

// ListQuery returns the SQL of List for a filter that names a status,
// an owner, both or neither, for the plan test.
func (s *Store) ListQuery(byStatus, byOwner bool) string {
	return s.q.list[b2i(byStatus)][b2i(byOwner)]
}
