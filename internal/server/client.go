package server

import (
	"net/http"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/licensing"
)

// clientAnswer is one client.
type clientAnswer struct {
	Client keybox.Client `json:"client"`
}

// clientChanged is a client after a change.
type clientChanged struct {
	Client  keybox.Client `json:"client"`
	Message string        `json:"message"`
}

// clientList is a page of clients.
type clientList struct {
	Clients []keybox.Client `json:"clients"`
	Limit   int             `json:"limit"`
	Page    int             `json:"page"`
	Total   int             `json:"total"`
}

func (s *Server) createClient(r *http.Request, u keybox.User, in licensing.ClientInput) (clientChanged, error) {
	c, err := s.svc.CreateClient(r.Context(), u, in)
	return clientChanged{Client: c, Message: "Client created successfully"}, err
}

func (s *Server) listClients(r *http.Request, u keybox.User, _ none) (clientList, error) {
	in, err := listInput(r)
	if err != nil {
		return clientList{}, err
	}
	list, total, in, err := s.svc.Clients(r.Context(), u, in)
	return clientList{Clients: list, Total: total, Page: in.Page, Limit: in.Limit}, err
}

func (s *Server) getClient(r *http.Request, u keybox.User, _ none) (clientAnswer, error) {
	c, err := s.svc.Client(r.Context(), u, r.PathValue("id"))
	return clientAnswer{Client: c}, err
}

func (s *Server) updateClient(r *http.Request, u keybox.User, in licensing.ClientInput) (clientChanged, error) {
	c, err := s.svc.UpdateClient(r.Context(), u, r.PathValue("id"), in)
	return clientChanged{Client: c, Message: "Client updated successfully"}, err
}

func (s *Server) deleteClient(r *http.Request, u keybox.User, _ none) (confirmation, error) {
	return confirmation{Message: "Client deleted successfully"}, s.svc.DeleteClient(r.Context(), u, r.PathValue("id"), cascade(r))
}
