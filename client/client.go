package client

import (
	"context"
	"net/url"
	"strconv"

	"github.com/keyboxhq/keybox"
)

// ListOptions select a page of a list. Zero values take the server's
// defaults (page 1, 20 per page; at most 100).
type ListOptions struct {
	// Query keeps items whose name or email (or key, for licenses) holds it.
	Query string
	Page  int
	Limit int
}

func (o ListOptions) values() url.Values {
	v := url.Values{}
	if o.Query != "" {
		v.Set("q", o.Query)
	}
	if o.Page != 0 {
		v.Set("page", strconv.Itoa(o.Page))
	}
	if o.Limit != 0 {
		v.Set("limit", strconv.Itoa(o.Limit))
	}
	return v
}

// ClientList is one page of clients, newest first.
type ClientList struct {
	Clients []keybox.Client `json:"clients"`
	Total   int             `json:"total"`
	Page    int             `json:"page"`
	Limit   int             `json:"limit"`
}

// ClientInput is the body of POST /clients and PATCH /clients/:id. On an
// update, an empty member is left as it is.
type ClientInput struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
}

// CreateClient records a customer. Its email is unique among the caller's
// clients (409, Field "email").
func (c *Client) CreateClient(ctx context.Context, in ClientInput) (keybox.Client, error) {
	var out struct {
		Client keybox.Client `json:"client"`
	}
	err := c.do(ctx, "POST", "/clients", nil, in, &out)
	return out.Client, err
}

// Clients lists the caller's clients.
func (c *Client) Clients(ctx context.Context, opts ListOptions) (ClientList, error) {
	var out ClientList
	err := c.do(ctx, "GET", "/clients", opts.values(), nil, &out)
	return out, err
}

// Client returns one of the caller's clients.
func (c *Client) Client(ctx context.Context, id string) (keybox.Client, error) {
	var out struct {
		Client keybox.Client `json:"client"`
	}
	err := c.do(ctx, "GET", "/clients/"+esc(id), nil, nil, &out)
	return out.Client, err
}

// UpdateClient changes a client's name and/or email.
func (c *Client) UpdateClient(ctx context.Context, id string, in ClientInput) (keybox.Client, error) {
	var out struct {
		Client keybox.Client `json:"client"`
	}
	err := c.do(ctx, "PATCH", "/clients/"+esc(id), nil, in, &out)
	return out.Client, err
}

// DeleteClient deletes a client. A client with projects is refused (409)
// unless cascade is set, which deletes its projects, licenses and
// activations too, in one transaction.
func (c *Client) DeleteClient(ctx context.Context, id string, cascade bool) error {
	return c.do(ctx, "DELETE", "/clients/"+esc(id), cascadeQuery(cascade), nil, nil)
}

func cascadeQuery(cascade bool) url.Values {
	if !cascade {
		return nil
	}
	return url.Values{"cascade": {"true"}}
}
