package server

import (
	"encoding/json"
	"reflect"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/licensing"
)

// Examples of the main requests and answers, by Go type, for the OpenAPI
// document; its test checks each one against its schema. Request examples
// are JSON, since the request types record what was sent rather than encode.

var (
	exampleTime       = keybox.NewTime(time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC))
	exampleExpiry     = keybox.NewTime(time.Date(2027, 1, 15, 10, 0, 0, 0, time.UTC))
	exampleUser       = keybox.User{ID: "6968baa06ae6783f4fe91b6f", Name: "Ada", Email: "ada@example.com", Role: keybox.RoleAdmin, CreatedAt: exampleTime, UpdatedAt: exampleTime}
	exampleClient     = keybox.Client{ID: "6968baa06ae6783f4fe91b70", Name: "Acme", Email: "billing@acme.example", OwnerID: exampleUser.ID, CreatedAt: exampleTime, UpdatedAt: exampleTime}
	exampleProject    = keybox.Project{ID: "6968baa06ae6783f4fe91b71", Name: "Website", ClientID: exampleClient.ID, CreatedAt: exampleTime, UpdatedAt: exampleTime}
	exampleLicense    = keybox.License{ID: "6968baa06ae6783f4fe91b72", Key: "KB-7QX2M-9HD4T-KAW3E-PZ81C", Duration: 12, IssuedAt: exampleTime, ExpiresAt: exampleExpiry, Status: keybox.StatusActive, Services: []keybox.Service{keybox.ServiceHosting}, OwnerID: exampleUser.ID, ClientID: exampleClient.ID, ProjectID: exampleProject.ID, MaxMachines: 1, MachineID: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", ActivatedAt: exampleTime, CreatedAt: exampleTime, UpdatedAt: exampleTime}
	exampleSeat       = keybox.Activation{ID: "6968baa06ae6783f4fe91b73", LicenseID: exampleLicense.ID, MachineID: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", ActivatedAt: exampleTime, LastValidatedAt: exampleTime, CreatedAt: exampleTime, UpdatedAt: exampleTime}
	exampleMachine    = keybox.NullString("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
	exampleNoInstance = keybox.NullString("")
	exampleAPIToken   = keybox.APIToken{ID: "6968baa06ae6783f4fe91b74", OwnerID: exampleUser.ID, Name: "billing", Scope: keybox.ScopeWrite,
		Prefix: "kbx_q3m7ztk2", ExpiresAt: exampleExpiry, LastUsedAt: exampleTime, CreatedAt: exampleTime, UpdatedAt: exampleTime}
)

var examples = map[reflect.Type]any{
	reflect.TypeFor[licensing.SignupInput](): json.RawMessage(`{"name":"Ada","email":"ada@example.com","password":"correct horse","confirm_password":"correct horse"}`),
	reflect.TypeFor[licensing.LoginInput]():  json.RawMessage(`{"email":"ada@example.com","password":"correct horse"}`),
	reflect.TypeFor[licensing.ClientInput](): json.RawMessage(`{"name":"Acme","email":"billing@acme.example"}`),
	reflect.TypeFor[licensing.NewProjectWithLicense](): json.RawMessage(
		`{"clientId":"6968baa06ae6783f4fe91b70","projectName":"Website","duration":12,"services":["Hosting"]}`),
	reflect.TypeFor[licensing.NewLicense](): json.RawMessage(
		`{"duration":12,"clientId":"6968baa06ae6783f4fe91b70","projectId":"6968baa06ae6783f4fe91b71","maxMachines":2}`),
	reflect.TypeFor[licensing.APITokenInput](): json.RawMessage(`{"name":"billing","scope":"write","expiresAt":"2027-01-15T10:00:00Z"}`),
	reflect.TypeFor[licensing.Check]():         json.RawMessage(`{"key":"KB-7QX2M-9HD4T-KAW3E-PZ81C","machineId":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}`),

	reflect.TypeFor[liveness]():     liveness{Status: "ok", Version: "v1.4.0", Revision: "60e02c31615c0c2f0f0ba5fbbdb4b38ec7fbe29d"},
	reflect.TypeFor[signupAnswer](): signupAnswer{Message: "Signup successful", UserID: exampleUser.ID},
	reflect.TypeFor[loginAnswer](): loginAnswer{Message: "Login successful", Token: "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9…",
		UserID: exampleUser.ID, Role: keybox.RoleAdmin},
	reflect.TypeFor[apiTokenCreated]():    apiTokenCreated{Token: "kbx_q3m7ztk2…", APIToken: exampleAPIToken},
	reflect.TypeFor[apiTokenList]():       apiTokenList{Tokens: []keybox.APIToken{exampleAPIToken}},
	reflect.TypeFor[clientChanged]():      clientChanged{Client: exampleClient, Message: "Client created successfully"},
	reflect.TypeFor[projectWithLicense](): projectWithLicense{License: exampleLicense, Message: "Project and License created successfully", Project: exampleProject},
	reflect.TypeFor[licenseChanged]():     licenseChanged{License: exampleLicense, Message: "License created"},
	reflect.TypeFor[licenseDetail]():      licenseDetail{License: exampleLicense, Activations: []keybox.Activation{exampleSeat}},
	reflect.TypeFor[verdict](): verdict{Valid: true, Status: licensing.VerdictActive, Duration: "12 months",
		ExpiresAt: exampleExpiry.Millis(), Entitlements: []string{"pro"}},
	reflect.TypeFor[activateAnswer](): activateAnswer{Success: true, Message: "License activated successfully",
		MachineID: &exampleMachine, InstanceID: &exampleNoInstance, ActivatedAt: exampleTime, ExpiresAt: exampleExpiry,
		Entitlements: []string{"pro"}, Metadata: json.RawMessage(`{"plan":"gold"}`)},
}

// exampleOf is t's example, or nil.
func exampleOf(t reflect.Type) any { return examples[t] }
