package server

import (
	"net/http"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/licensing"
)

func (s *Server) handleCreateClient(w http.ResponseWriter, r *http.Request, u keybox.User) {
	var in licensing.ClientInput
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.svc.CreateClient(r.Context(), u, in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"message": "Client created successfully", "client": c})
}

func (s *Server) handleListClients(w http.ResponseWriter, r *http.Request, u keybox.User) {
	in, err := listInput(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	list, total, in, err := s.svc.Clients(r.Context(), u, in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listBody("clients", list, total, in))
}

func (s *Server) handleGetClient(w http.ResponseWriter, r *http.Request, u keybox.User) {
	c, err := s.svc.Client(r.Context(), u, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"client": c})
}

func (s *Server) handleUpdateClient(w http.ResponseWriter, r *http.Request, u keybox.User) {
	var in licensing.ClientInput
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.svc.UpdateClient(r.Context(), u, r.PathValue("id"), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"message": "Client updated successfully", "client": c})
}

func (s *Server) handleDeleteClient(w http.ResponseWriter, r *http.Request, u keybox.User) {
	if err := s.svc.DeleteClient(r.Context(), u, r.PathValue("id"), cascade(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"message": "Client deleted successfully"})
}
