package api

func (s *Server) registerSAML() {}
