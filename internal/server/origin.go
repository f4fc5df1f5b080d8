package server

import (
	"net/http"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/licensing"
)

// withOrigin returns r carrying where its changes come from, for the events
// they record: the actor (none before authentication and on the public
// license API, where the change names its own), the client's address and
// the request's id. /validate, which records nothing, never pays for it.
func (s *Server) withOrigin(w http.ResponseWriter, r *http.Request, actor keybox.Actor) *http.Request {
	return r.WithContext(licensing.WithOrigin(r.Context(), licensing.Origin{
		Actor: actor, IP: s.clientIP(r), RequestID: requestID(w),
	}))
}
