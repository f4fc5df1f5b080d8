// Command protected-app is a small net/http application that serves only
// while its KeyBox license is active: the Go SDK's guard in front of a mux.
//
//	KEYBOX_SERVER=http://localhost:5000 LICENSE_KEY=KB-… go run ./examples/protected-app
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/keyboxhq/keybox/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Getenv, os.Stderr, nil)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "protected-app:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends. ln is the listener to serve on; nil listens on
// ADDR (127.0.0.1:8080 by default).
func run(ctx context.Context, getenv func(string) string, logTo io.Writer, ln net.Listener) error {
	log := slog.New(slog.NewTextHandler(logTo, nil))
	server := or(getenv("KEYBOX_SERVER"), "http://localhost:5000")
	key := getenv("LICENSE_KEY")
	if key == "" {
		return errors.New("LICENSE_KEY is not set: create a license with `keybox licenses create` and export it")
	}
	var interval time.Duration
	if s := getenv("CHECK_INTERVAL"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return fmt.Errorf("CHECK_INTERVAL: %q is not a duration such as 15m", s)
		}
		interval = d
	}

	lic, err := client.NewLicenseClient(server, key, client.LicenseOptions{
		ProductName:    getenv("PRODUCT_NAME"),
		InstanceIDFile: getenv("INSTANCE_ID_FILE"),
	})
	if err != nil {
		return err
	}
	guard := client.NewGuard(lic, client.GuardOptions{
		Interval:  interval,
		Logger:    log,
		OnRevoke:  func(s client.GuardState) { log.Warn("license lost: answering 402", "state", s.State) },
		OnRecover: func(s client.GuardState) { log.Info("license back: serving again") },
	})
	st := guard.Start(ctx)
	log.Info("license checked", "state", st.State, "active", st.Active, "machineId", lic.MachineID())

	if ln == nil {
		if ln, err = net.Listen("tcp", or(getenv("ADDR"), "127.0.0.1:8080")); err != nil {
			return err
		}
	}
	srv := &http.Server{Handler: guard.Handler(routes()), ReadHeaderTimeout: 5 * time.Second}
	log.Info("listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

// routes is the application itself, which knows nothing of licensing.
func routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "Hello from a licensed application.")
	})
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	return mux
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
