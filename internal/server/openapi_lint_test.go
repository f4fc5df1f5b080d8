package server_test

import (
	"slices"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestOpenAPIValidates: the generated document is valid OpenAPI 3.1 for
// kin-openapi's validator, examples included, and has what client
// generators need: an operationId, a summary and a declared tag on every
// operation, security on each, required request bodies, and no member
// whose type a generator would have to guess.
func TestOpenAPIValidates(t *testing.T) {
	e := newEnv(t, storeSQLite(t))
	raw := e.do("GET", "/openapi.json", "", nil).want(t, 200, "").raw
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(loader.Context, openapi3.IsOpenAPI31OrLater(), openapi3.EnableExamplesValidation(),
		openapi3.EnableSchemaFormatValidation(), openapi3.EnableMultiError()); err != nil {
		t.Fatalf("kin-openapi: %v", err)
	}

	declared := map[string]bool{}
	for _, tag := range doc.Tags {
		declared[tag.Name] = true
	}
	if len(doc.Security) != 1 || doc.Components.SecuritySchemes["bearer"] == nil {
		t.Errorf("global security %v, want bearer", doc.Security)
	}
	ids := map[string]bool{}
	examples := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			at := method + " " + path
			if op.OperationID == "" || ids[op.OperationID] || op.Summary == "" {
				t.Errorf("%s: operationId %q (unique?) and summary %q", at, op.OperationID, op.Summary)
			}
			ids[op.OperationID] = true
			if len(op.Tags) != 1 || !declared[op.Tags[0]] {
				t.Errorf("%s: tags %v are not declared at the top", at, op.Tags)
			}
			public := op.Security != nil && len(*op.Security) == 0
			if public != (op.Extensions["x-keybox-access"] == "public") {
				t.Errorf("%s: security %v for access %v", at, op.Security, op.Extensions["x-keybox-access"])
			}
			if rb := op.RequestBody; rb != nil {
				if !rb.Value.Required {
					t.Errorf("%s: request body not required", at)
				}
				if rb.Value.Content.Get("application/json").Example != nil {
					examples++
				}
			}
			for status, resp := range op.Responses.Map() {
				if resp.Value.Description == nil || *resp.Value.Description == "" {
					t.Errorf("%s %s: no description", at, status)
				}
				if mt := resp.Value.Content.Get("application/json"); mt != nil && mt.Example != nil {
					examples++
				}
			}
		}
	}
	if examples < 12 {
		t.Errorf("%d examples, want the main requests and answers to have one", examples)
	}
	for name, s := range doc.Components.Schemas {
		for _, problem := range untyped(name, s) {
			t.Error(problem)
		}
	}
}

// untyped lists the members of a schema that have no type, which a client
// generator turns into interface{}.
func untyped(at string, ref *openapi3.SchemaRef) []string {
	if ref.Ref != "" {
		return nil // checked where it is defined
	}
	s := ref.Value
	if s.Type == nil && len(s.AnyOf) == 0 && len(s.OneOf) == 0 && len(s.AllOf) == 0 {
		return []string{at + ": no type"}
	}
	var problems []string
	names := make([]string, 0, len(s.Properties))
	for name := range s.Properties {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		problems = append(problems, untyped(at+"."+name, s.Properties[name])...)
	}
	if s.Items != nil {
		problems = append(problems, untyped(at+"[]", s.Items)...)
	}
	for _, sub := range slices.Concat(s.AnyOf, s.OneOf, s.AllOf) {
		problems = append(problems, untyped(at+"|", sub)...)
	}
	return problems
}
