package server

import (
	"net/http"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/licensing"
)

// apiTokenCreated is the answer of POST /tokens: the only time the secret
// is ever shown.
type apiTokenCreated struct {
	Token    string          `json:"token" doc:"The secret (kbx_…), shown this once and never again: send it as Authorization: Bearer <token>."`
	APIToken keybox.APIToken `json:"apiToken"`
}

// apiTokenList is the caller's API tokens.
type apiTokenList struct {
	Tokens []keybox.APIToken `json:"tokens"`
}

// createAPIToken counts the creation against the limits before anything
// else: each token made is a credential that outlives the session making it.
func (s *Server) createAPIToken(r *http.Request, u keybox.User, in licensing.APITokenInput) (apiTokenCreated, error) {
	if err := s.admitTokenCreation(r, u); err != nil {
		return apiTokenCreated{}, err
	}
	secret, t, err := s.svc.CreateAPIToken(r.Context(), u, in)
	return apiTokenCreated{Token: secret, APIToken: t}, err
}

func (s *Server) listAPITokens(r *http.Request, u keybox.User, _ none) (apiTokenList, error) {
	list, err := s.svc.APITokens(r.Context(), u)
	return apiTokenList{Tokens: list}, err
}

func (s *Server) revokeAPIToken(r *http.Request, u keybox.User, _ none) (confirmation, error) {
	return confirmation{Message: "Token revoked"}, s.svc.RevokeAPIToken(r.Context(), u, r.PathValue("id"))
}
