package client_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/client"
	"github.com/keyboxhq/keybox/internal/servertest"
	"github.com/keyboxhq/keybox/internal/storetest"
)

// The examples talk to a real KeyBox server on loopback, over a SQLite
// store, started when the first one runs and stopped after the last.

func TestMain(m *testing.M) {
	code := m.Run()
	examples.close()
	os.Exit(code)
}

var examples = &exampleTB{}

// exampleServer is the examples' server.
var exampleServer = sync.OnceValue(func() *servertest.Server {
	if _, err := client.MachineID(); err != nil {
		// A container without a machine id: the examples use the variable
		// that such a container's applications set.
		_ = os.Setenv(client.MachineIDEnv, "example-machine")
	}
	return servertest.New(examples, storetest.SQLite(examples), servertest.Options{})
})

// exampleLicense signs up a developer for one example and issues a
// 12-month PENDING key through the API; it returns the server's URL, the
// developer's login token and the key.
func exampleLicense(name string) (keyboxURL, token, key string) {
	s := exampleServer()
	token, key = s.NewLicense(examples, name+"@vendor.example", 12)
	return s.URL, token, key
}

// exampleToken signs up a developer for one example and makes an API token
// of write scope, as the developer would once with keybox tokens create;
// it returns the server's URL and the token's secret.
func exampleToken(name string) (keyboxURL, token string) {
	s := exampleServer()
	kb, err := client.New(s.URL, client.Options{})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	email := name + "@vendor.example"
	if _, err := kb.Signup(ctx, client.Signup{Name: name, Email: email, Password: servertest.Password}); err != nil {
		panic(err)
	}
	if _, err := kb.Login(ctx, email, servertest.Password); err != nil {
		panic(err)
	}
	made, err := kb.CreateToken(ctx, client.TokenInput{Name: name, Scope: keybox.ScopeWrite})
	if err != nil {
		panic(err)
	}
	return s.URL, made.Token
}

// exampleTB is the testing.TB that servertest and storetest ask for, where
// an example has none: it keeps their clean-ups for TestMain, and a
// failure panics, which fails the example. The embedded TB is nil: a
// method not written here panics too.
type exampleTB struct {
	testing.TB
	mu       sync.Mutex
	cleanups []func()
}

func (t *exampleTB) Helper() {}

func (t *exampleTB) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

func (t *exampleTB) TempDir() string {
	dir, err := os.MkdirTemp("", "keybox-example")
	if err != nil {
		panic(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func (t *exampleTB) Fatal(args ...any) { panic(fmt.Sprint(args...)) }

func (t *exampleTB) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

func (t *exampleTB) Skipf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// close runs the clean-ups, the last registered first.
func (t *exampleTB) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
	t.cleanups = nil
}
