// Command openapi-client drives a KeyBox server through a Go client that
// oapi-codegen generated from the server's own OpenAPI document (see
// .ci/openapi-client.sh, which generates keybox.gen.go beside this file):
// sign up, log in, create a client and a project with its license, activate
// and validate the key, and read a refusal as a typed error.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: openapi-client SERVER-URL")
		os.Exit(2)
	}
	if err := run(context.Background(), os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "openapi-client:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, server string) error {
	anon, err := NewClientWithResponses(server)
	if err != nil {
		return err
	}
	signup, err := anon.SignupWithResponse(ctx, SignupJSONRequestBody{
		Name: "Ada", Email: "ada@example.com", Password: "correct horse", ConfirmPassword: "correct horse"})
	if err != nil || signup.JSON201 == nil {
		return fmt.Errorf("signup: %v %s", err, statusOf(signup))
	}
	login, err := anon.LoginWithResponse(ctx, LoginJSONRequestBody{Email: "ada@example.com", Password: "correct horse"})
	if err != nil || login.JSON200 == nil {
		return fmt.Errorf("login: %v %s", err, statusOf(login))
	}
	if login.JSON200.Role != ADMIN || login.JSON200.UserId != signup.JSON201.UserId {
		return fmt.Errorf("login: %+v after signup %+v", *login.JSON200, *signup.JSON201)
	}
	token := login.JSON200.Token
	api, err := NewClientWithResponses(server, WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+token)
		return nil
	}))
	if err != nil {
		return err
	}

	created, err := api.CreateClientWithResponse(ctx, CreateClientJSONRequestBody{Name: "Acme", Email: "billing@acme.example"})
	if err != nil || created.JSON201 == nil {
		return fmt.Errorf("create client: %v %s", err, statusOf(created))
	}
	customer := created.JSON201.ClientObject
	again, err := api.CreateClientWithResponse(ctx, CreateClientJSONRequestBody{Name: "Acme", Email: "billing@acme.example"})
	if err != nil || again.JSON409 == nil || again.JSON409.Field != "email" {
		return fmt.Errorf("a second client with the same email: %v %s", err, statusOf(again))
	}

	// services is a list or one service alone: a union in the generated client.
	var services CreateProjectWithLicenseRequest_Services
	if err := services.FromCreateProjectWithLicenseRequestServices0([]Service{Hosting}); err != nil {
		return err
	}
	months := 12 // optional: a policy may give the duration instead
	project, err := api.CreateProjectWithLicenseWithResponse(ctx, CreateProjectWithLicenseJSONRequestBody{
		ClientId: customer.UnderscoreId, ProjectName: "Website", Duration: &months, Services: services})
	if err != nil || project.JSON201 == nil {
		return fmt.Errorf("create project: %v %s", err, statusOf(project))
	}
	license := project.JSON201.License
	if license.Status != PENDING || license.Client != customer.UnderscoreId || license.ActivatedAt != nil {
		return fmt.Errorf("new license: %+v", license)
	}

	machine := "openapi-client-machine"
	activated, err := anon.ActivateLicenseWithResponse(ctx, ActivateLicenseJSONRequestBody{Key: license.Key, MachineId: &machine})
	if err != nil || activated.JSON200 == nil || !activated.JSON200.Success {
		return fmt.Errorf("activate: %v %s", err, statusOf(activated))
	}
	valid, err := anon.ValidateLicenseWithResponse(ctx, ValidateLicenseJSONRequestBody{Key: license.Key, MachineId: &machine})
	if err != nil || valid.JSON200 == nil || !valid.JSON200.Valid || valid.JSON200.Status != Active {
		return fmt.Errorf("validate: %v %s", err, statusOf(valid))
	}
	other := "another-machine"
	mismatch, err := anon.ValidateLicenseWithResponse(ctx, ValidateLicenseJSONRequestBody{Key: license.Key, MachineId: &other})
	if err != nil || mismatch.JSON200 == nil || mismatch.JSON200.Valid || mismatch.JSON200.Status != MachineMismatch {
		return fmt.Errorf("validate on another machine: %v %s", err, statusOf(mismatch))
	}
	fmt.Printf("openapi-client: %s is %s until %d on %s\n", license.Key, valid.JSON200.Status, *valid.JSON200.ExpiresAt, machine)
	return nil
}

// statusOf is the answer's status line, for error messages; r is nil when
// the request failed.
func statusOf[T any, P interface {
	*T
	Status() string
}](r P) string {
	if r == nil {
		return ""
	}
	return r.Status()
}
