package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/client"
)

// Protecting a net/http application: the key is activated on this machine
// at start, checked again every 15 minutes, and while the license is not
// active every request but /health and /license/status gets 402.
func ExampleProtect() {
	// The KeyBox server and the key the customer bought; in an application
	// they come from its configuration.
	keyboxURL, _, key := exampleLicense("protect")

	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "Hello, customer")
	})
	ctx, stop := context.WithCancel(context.Background())
	defer stop() // the guard re-validates until ctx ends
	h, err := client.Protect(ctx, keyboxURL, key, mux)
	if err != nil {
		log.Fatal(err) // a bad URL, no key or no machine id; never the license itself
	}
	// An application serves h: log.Fatal(http.ListenAndServe(":8080", h)).
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output: 200 Hello, customer
}

// A guard with options: told when the license stops being active, here
// because the developer revoked it.
func ExampleNewGuard() {
	keyboxURL, token, key := exampleLicense("guard")
	ctx, stop := context.WithCancel(context.Background())
	defer stop()

	lic, err := client.NewLicenseClient(keyboxURL, key, client.LicenseOptions{ProductName: "Desktop app"})
	if err != nil {
		log.Fatal(err)
	}
	g := client.NewGuard(lic, client.GuardOptions{
		OnRevoke: func(st client.GuardState) { fmt.Println("blocked:", st.State, st.Message) },
	})
	fmt.Println("started:", g.Start(ctx).State)
	app := g.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "the application")
	}))

	// The developer revokes the key (with the management API, the CLI or
	// the dashboard); the next check, due within 15 minutes, sees it.
	kb, err := client.New(keyboxURL, client.Options{Token: token})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := kb.ToggleRevoke(ctx, key); err != nil {
		log.Fatal(err)
	}
	g.Check(ctx)

	rec := httptest.NewRecorder()
	app.ServeHTTP(rec, httptest.NewRequest("GET", "/reports", nil))
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output:
	// started: ACTIVE
	// blocked: REVOKED License revoked by developer
	// 402 {"error":"LICENSE_INACTIVE","state":"REVOKED","message":"Go pay your developer"}
}

// What a shipped application does without the guard: activate its key on
// this machine once, then validate it. A key that is not valid is an answer
// (Valid false, and why), not an error; errors are for a server that cannot
// be reached or a refused activation.
func ExampleLicenseClient() {
	keyboxURL, _, key := exampleLicense("activate")
	ctx := context.Background()

	lic, err := client.NewLicenseClient(keyboxURL, key, client.LicenseOptions{ProductName: "Desktop app"})
	if err != nil {
		log.Fatal(err) // no machine id: set KEYBOX_MACHINE_ID in a container
	}
	act, err := lic.Activate(ctx)
	if err != nil {
		log.Fatal(err) // *client.APIError 403 when revoked, expired or out of seats
	}
	fmt.Println(act.Message)

	v, err := lic.Validate(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(v.Valid, v.Status, v.Duration)

	again, err := lic.Activate(ctx) // at every start: harmless once activated
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(again.Already())

	typo, err := client.NewLicenseClient(keyboxURL, "KB-00000-00000-00000-00000", client.LicenseOptions{})
	if err != nil {
		log.Fatal(err)
	}
	v, err = typo.Validate(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(v.Valid, v.Status)
	// Output:
	// License activated successfully
	// true active 12 months
	// true
	// false invalid
}

// Issuing a key when an order is paid: the billing provider calls a
// webhook of the vendor's back office, which records the customer, the
// product and the license with the management API, and sends the key to
// the customer.
func Example_billingWebhook() {
	// The back office's configuration: the server, and an API token of
	// write scope made for it once (keybox tokens create --name billing
	// --scope write), rather than a password that logins expire.
	keyboxURL, token := exampleToken("billing")
	ctx := context.Background()

	kb, err := client.New(keyboxURL, client.Options{Token: token})
	if err != nil {
		log.Fatal(err)
	}

	// The webhook. Check the billing provider's signature before believing
	// an order, and remember the orders already served: providers deliver
	// a webhook again when they are not sure it arrived.
	hook := func(w http.ResponseWriter, r *http.Request) {
		var order struct {
			Customer, Email, Product string
			Months, Seats            int
		}
		if err := json.NewDecoder(r.Body).Decode(&order); err != nil {
			http.Error(w, "not an order", http.StatusBadRequest)
			return
		}
		ctx := r.Context()
		customer, err := kb.CreateClient(ctx, client.ClientInput{Name: order.Customer, Email: order.Email})
		if client.StatusOf(err) == http.StatusConflict { // a returning customer
			var found client.ClientList
			if found, err = kb.Clients(ctx, client.ListOptions{Query: order.Email}); err == nil && len(found.Clients) > 0 {
				customer = found.Clients[0]
			}
		}
		var product keybox.Project
		if err == nil {
			product, err = kb.CreateProject(ctx, customer.ID, order.Product)
		}
		var license keybox.License
		if err == nil {
			license, err = kb.CreateLicense(ctx, client.NewLicense{
				ClientID: customer.ID, ProjectID: product.ID, Duration: order.Months, MaxMachines: order.Seats,
			})
		}
		if err != nil {
			// Not 2xx, so that the provider delivers the order again later.
			http.Error(w, "could not issue the key", http.StatusServiceUnavailable)
			return
		}
		// Here the key goes to the customer: a receipt page, an e-mail.
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(license)
	}

	// The provider's calls when Acme pays for a year of two seats, and
	// then for six months of another product.
	for _, paid := range []string{
		`{"customer": "Acme", "email": "it@acme.example", "product": "Desktop app", "months": 12, "seats": 2}`,
		`{"customer": "Acme", "email": "it@acme.example", "product": "Server app", "months": 6, "seats": 1}`,
	} {
		rec := httptest.NewRecorder()
		hook(rec, httptest.NewRequest("POST", "/hooks/paid", strings.NewReader(paid)))
		var issued keybox.License
		if err := json.Unmarshal(rec.Body.Bytes(), &issued); err != nil {
			log.Fatalf("%d %s", rec.Code, rec.Body)
		}
		fmt.Println(rec.Code, issued.Status, issued.Duration, issued.MaxMachines, strings.HasPrefix(issued.Key, "KB-"))
	}
	clients, err := kb.Clients(ctx, client.ListOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(clients.Total, "client")
	// Output:
	// 200 PENDING 12 2 true
	// 200 PENDING 6 1 true
	// 1 client
}
