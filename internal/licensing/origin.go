package licensing

import (
	"context"

	"github.com/keyboxhq/keybox"
)

// Origin is where a change comes from: who made it, from which client
// address, in which request. Events record it.
type Origin struct {
	Actor     keybox.Actor
	IP        string
	RequestID string
}

type originKey struct{}

// WithOrigin returns a context whose changes are recorded as made by o. The
// server sets it once per request; an Origin without an actor (a request
// before authentication, the public license API) lets the change name its
// own actor (the new account, the application's key).
func WithOrigin(ctx context.Context, o Origin) context.Context {
	return context.WithValue(ctx, originKey{}, o)
}

// originOf returns the context's origin; none for background work.
func originOf(ctx context.Context) Origin {
	o, _ := ctx.Value(originKey{}).(Origin)
	return o
}

// Actors a change names when its origin does not.
var systemActor = keybox.Actor{Type: keybox.ActorSystem}

func userActor(id string) keybox.Actor { return keybox.Actor{Type: keybox.ActorUser, ID: id} }

// applicationActor is a shipped application, known by its key's fingerprint:
// the key itself never enters the log through the actor.
func (s *Service) applicationActor(key string) keybox.Actor {
	return keybox.Actor{Type: keybox.ActorApplication, ID: s.fingerprints.of(key)}
}
