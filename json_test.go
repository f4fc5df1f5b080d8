package keybox_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
)

// stdJSON encodes v as encoding/json does, without HTML escaping.
func stdJSON(t *testing.T, v any) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return string(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	cases := []string{"", "plain", `quote " and \ backslash`, "tab\tnew\nline\rret", "\x00\x01\x1f\x7f",
		"<img src=x onerror=alert(1)>&", "héllo wörld ✓ 日本", "bad \xff utf8 \xc3", "sep \u2028 \u2029 end", "emoji 🔑"}
	for _, s := range cases {
		if got, want := string(keybox.AppendString(nil, s)), stdJSON(t, s); got != want {
			t.Errorf("%q: got %s, want %s", s, got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("KB-7QX2M-9HD4T-KAW3E-PZ81C")
	f.Add("\x00\"\\\u2028\xff")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(keybox.AppendString(nil, s)), stdJSON(t, s); got != want {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
	})
}

// TestDomainJSONMatchesReflection: the hand-written encoders give what the
// struct tags would.
func TestDomainJSONMatchesReflection(t *testing.T) {
	at := keybox.NewTime(time.Date(2024, 2, 29, 23, 59, 59, 999_000_000, time.UTC))
	l := keybox.License{ID: "65a1b2c3d4e5f60718293a4b", Key: `K"1`, Duration: 3, IssuedAt: at, ExpiresAt: at, Status: keybox.StatusActive,
		Services: []keybox.Service{keybox.ServiceHosting, keybox.ServiceDomain}, OwnerID: "u", ClientID: "c", ProjectID: "p",
		MaxMachines: 2, MachineID: "m<1>", ProductName: "P", CreatedAt: at, UpdatedAt: at, RequireMachineID: true,
		LeaseSeconds: 600, Entitlements: []string{"export", "pro"}, Metadata: json.RawMessage(`{"tier":"gold","seats":[1,"<2>"]}`)}
	type licenseFields keybox.License // the same fields, without the methods
	if got, want := stdJSON(t, l), stdJSON(t, licenseFields(l)); got != want {
		t.Errorf("license:\n got %s\nwant %s", got, want)
	}
	a := keybox.Activation{ID: "a", LicenseID: "l", MachineID: "m", ActivatedAt: at, CreatedAt: at, UpdatedAt: at, LeaseExpiresAt: at}
	type activationFields keybox.Activation
	if got, want := stdJSON(t, a), stdJSON(t, activationFields(a)); got != want {
		t.Errorf("activation:\n got %s\nwant %s", got, want)
	}
	c := keybox.Client{ID: "c", Name: "Ac\u2028me", Email: "a@b.co", OwnerID: "o", CreatedAt: at, UpdatedAt: at}
	type clientFields keybox.Client
	if got, want := stdJSON(t, c), stdJSON(t, clientFields(c)); got != want {
		t.Errorf("client:\n got %s\nwant %s", got, want)
	}
	p := keybox.Project{ID: "p", Name: "P", ClientID: "c", OwnerID: "hidden", CreatedAt: at, UpdatedAt: at}
	type projectFields keybox.Project
	if got, want := stdJSON(t, p), stdJSON(t, projectFields(p)); got != want {
		t.Errorf("project:\n got %s\nwant %s", got, want)
	}
	pol := keybox.Policy{Duration: 12, MaxMachines: 5, LeaseSeconds: 60, RequireMachineID: true, Entitlements: []string{"a.b", "pro"}}
	type policyFields keybox.Policy
	if got, want := stdJSON(t, pol), stdJSON(t, policyFields(pol)); got != want {
		t.Errorf("policy:\n got %s\nwant %s", got, want)
	}
	// Empty lists and metadata are [] and {}, never null.
	if got := stdJSON(t, keybox.Policy{MaxMachines: 1}); got != `{"duration":0,"maxMachines":1,"leaseSeconds":0,"requireMachineId":false,"entitlements":[]}` {
		t.Errorf("empty policy: %s", got)
	}
	if got := string(keybox.License{}.AppendJSON(nil)); !bytes.HasSuffix([]byte(got), []byte(`"entitlements":[],"metadata":{}}`)) {
		t.Errorf("empty license: %s", got)
	}
	u := keybox.User{ID: "u", Name: "N", Email: "e", Role: keybox.RoleAdmin, PasswordHash: "secret", CreatedAt: at, UpdatedAt: at}
	type userFields keybox.User
	if got, want := stdJSON(t, u), stdJSON(t, userFields(u)); got != want {
		t.Errorf("user:\n got %s\nwant %s", got, want)
	}
}
