// Command billing-webhook issues a KeyBox license when a billing system
// reports a payment: it receives the billing system's "payment succeeded"
// webhook, checks its signature, records the customer as a KeyBox client
// (once), the product as a project of that client (once), and issues a
// license, with an API token of write scope from the environment, so that
// no password is kept anywhere.
//
//	KEYBOX_SERVER=http://localhost:5000 KEYBOX_TOKEN=kbx_… BILLING_WEBHOOK_SECRET=… go run ./examples/billing-webhook
package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Getenv, os.Stderr, nil)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "billing-webhook:", err)
		os.Exit(1)
	}
}

// run serves the webhook until ctx ends. ln is the listener to serve on;
// nil listens on ADDR (127.0.0.1:8090 by default).
func run(ctx context.Context, getenv func(string) string, logTo io.Writer, ln net.Listener) error {
	log := slog.New(slog.NewTextHandler(logTo, nil))
	token := getenv("KEYBOX_TOKEN")
	if !strings.HasPrefix(token, keybox.APITokenPrefix) {
		return errors.New("KEYBOX_TOKEN must hold an API token (kbx_…): make one with `keybox tokens create --name billing --scope write`")
	}
	secret := getenv("BILLING_WEBHOOK_SECRET")
	if len(secret) < 16 {
		return errors.New("BILLING_WEBHOOK_SECRET must hold the billing system's webhook signing secret (16 characters or more)")
	}
	kb, err := client.New(or(getenv("KEYBOX_SERVER"), "http://localhost:5000"), client.Options{Token: token, UserAgent: "billing-webhook"})
	if err != nil {
		return err
	}
	// A token that is unknown, expired or revoked is a configuration
	// error: say so at start rather than at the first payment.
	if _, err := kb.Me(ctx); err != nil {
		return fmt.Errorf("KeyBox refuses KEYBOX_TOKEN: %w", err)
	}

	h := &hook{kb: kb, secret: []byte(secret), log: log, served: map[string]issued{}}
	mux := http.NewServeMux()
	mux.Handle("POST /hooks/payment", h)
	if ln == nil {
		if ln, err = net.Listen("tcp", or(getenv("ADDR"), "127.0.0.1:8090")); err != nil {
			return err
		}
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	log.Info("listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

// payment is the billing system's event: this example's format, close to
// what Stripe, Paddle or Lemon Squeezy send.
type payment struct {
	ID   string `json:"id"`
	Type string `json:"type"` // "payment.succeeded"; other events are acknowledged and ignored
	Data struct {
		Customer struct {
			Name  string `json:"name"`
			Email string `json:"email"`
		} `json:"customer"`
		Product string `json:"product"`
		Months  int    `json:"months"`
		Seats   int    `json:"seats"`
	} `json:"data"`
}

// issued is the answer for a payment that was served.
type issued struct {
	PaymentID  string `json:"paymentId"`
	ClientID   string `json:"clientId"`
	ProjectID  string `json:"projectId"`
	LicenseKey string `json:"licenseKey"`
}

// SignatureHeader carries the hex HMAC-SHA256 of the body under the
// shared secret, as "sha256=<hex>".
const SignatureHeader = "Billing-Signature"

type hook struct {
	kb     *client.Client
	secret []byte
	log    *slog.Logger
	// mu serialises payments, and served remembers those issued: billing
	// systems deliver an event again when unsure it arrived, and one
	// payment must make one license. A real integration keeps this in its
	// own database, so that it survives a restart.
	mu     sync.Mutex
	served map[string]issued
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	if !h.signed(body, r.Header.Get(SignatureHeader)) {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var p payment
	if err := json.Unmarshal(body, &p); err != nil || p.ID == "" {
		http.Error(w, "not a payment event", http.StatusBadRequest)
		return
	}
	if p.Type != "payment.succeeded" {
		writeJSON(w, map[string]any{"ignored": p.Type})
		return
	}
	if err := p.check(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if done, ok := h.served[p.ID]; ok {
		writeJSON(w, done)
		return
	}
	done, err := h.issue(r.Context(), p)
	if err != nil {
		// Not 2xx: the billing system delivers the event again later.
		h.log.Error("license not issued", "payment", p.ID, "error", err)
		http.Error(w, "could not issue the license", http.StatusServiceUnavailable)
		return
	}
	h.served[p.ID] = done
	h.log.Info("license issued", "payment", p.ID, "client", done.ClientID, "project", done.ProjectID)
	// Here the key goes to the customer: an email, the receipt page.
	writeJSON(w, done)
}

// signed checks the body's signature in constant time.
func (h *hook) signed(body []byte, header string) bool {
	got, err := hex.DecodeString(strings.TrimPrefix(header, "sha256="))
	if err != nil || !strings.HasPrefix(header, "sha256=") {
		return false
	}
	mac := hmac.New(sha256.New, h.secret)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

func (p *payment) check() error {
	d := &p.Data
	d.Customer.Email = strings.ToLower(strings.TrimSpace(d.Customer.Email))
	d.Customer.Name, d.Product = strings.TrimSpace(d.Customer.Name), strings.TrimSpace(d.Product)
	if _, err := mail.ParseAddress(d.Customer.Email); err != nil || d.Product == "" {
		return errors.New("a payment needs the customer's email and the product")
	}
	if d.Customer.Name == "" {
		d.Customer.Name = d.Customer.Email
	}
	if d.Months < 1 || d.Months > 12 {
		return errors.New("months must be 1 to 12")
	}
	if d.Seats < 1 {
		d.Seats = 1
	}
	return nil
}

// issue finds or records the customer and the product, then issues the
// license.
func (h *hook) issue(ctx context.Context, p payment) (issued, error) {
	d := p.Data
	customer, err := h.customer(ctx, d.Customer.Name, d.Customer.Email)
	if err != nil {
		return issued{}, fmt.Errorf("client: %w", err)
	}
	product, err := h.product(ctx, customer.ID, d.Product)
	if err != nil {
		return issued{}, fmt.Errorf("project: %w", err)
	}
	license, err := h.kb.CreateLicense(ctx, client.NewLicense{
		ClientID: customer.ID, ProjectID: product.ID, Duration: d.Months, MaxMachines: d.Seats,
		Metadata: json.RawMessage(fmt.Sprintf(`{"payment":%q}`, p.ID)),
	})
	if err != nil {
		return issued{}, fmt.Errorf("license: %w", err)
	}
	return issued{PaymentID: p.ID, ClientID: customer.ID, ProjectID: product.ID, LicenseKey: license.Key}, nil
}

// customer is the client with this email, recorded now if it is new.
func (h *hook) customer(ctx context.Context, name, email string) (keybox.Client, error) {
	c, err := h.kb.CreateClient(ctx, client.ClientInput{Name: name, Email: email})
	if client.StatusOf(err) != http.StatusConflict {
		return c, err
	}
	// A returning customer: emails are unique among a developer's clients.
	found, err := h.kb.Clients(ctx, client.ListOptions{Query: email, Limit: 100})
	if err != nil {
		return keybox.Client{}, err
	}
	for _, c := range found.Clients {
		if c.Email == email {
			return c, nil
		}
	}
	return keybox.Client{}, fmt.Errorf("client %s exists but was not found", email)
}

// product is the customer's project of this name, made now if it is new.
func (h *hook) product(ctx context.Context, clientID, name string) (keybox.Project, error) {
	found, err := h.kb.Projects(ctx, client.ProjectListOptions{ClientID: clientID, ListOptions: client.ListOptions{Query: name, Limit: 100}})
	if err != nil {
		return keybox.Project{}, err
	}
	for _, p := range found.Projects {
		if p.Name == name {
			return p, nil
		}
	}
	return h.kb.CreateProject(ctx, clientID, name)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
