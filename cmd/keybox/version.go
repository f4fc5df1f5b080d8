package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	neturl "net/url"
	"strings"
	"time"

	"github.com/keyboxhq/keybox/internal/buildinfo"
)

// versionCommand is keybox version: the build's version and source revision.
var versionCommand = []command{{
	offline: true,
	help: "Print the version, the source revision (with its time, and \"modified\" when the checkout\n" +
		"had uncommitted changes), the Go version and the platform.",
	setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
		return func(ctx context.Context, s *session, args []string) error {
			info := buildinfo.Get()
			return s.emit(info, func(w io.Writer) { fmt.Fprintln(w, "keybox", info) })
		}
	},
}}

// healthcheckCommand is keybox healthcheck: a container's HEALTHCHECK, where
// there is no curl.
var healthcheckCommand = []command{{
	offline: true,
	help: "Ask a server whether it is up: GET /healthz of the one this configuration starts\n" +
		"(KEYBOX_ADDR or PORT, on loopback), or --url. Exit 0 when it answers 200, 1 otherwise.",
	setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
		target := fs.String("url", "", "URL to ask instead, e.g. http://127.0.0.1:5000/readyz")
		timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the answer")
		return func(ctx context.Context, s *session, args []string) error {
			url := *target
			if url == "" {
				var err error
				if url, err = localHealthURL(s.getenv); err != nil {
					return err
				}
			}
			status, err := probe(ctx, url, *timeout)
			if err != nil {
				return err
			}
			out := map[string]any{"url": url, "status": status}
			return s.emit(out, func(w io.Writer) { fmt.Fprintf(w, "%s answered %d\n", url, status) })
		}
	},
}}

// localHealthURL is /healthz of the server that KEYBOX_ADDR or PORT makes
// listen, reached on loopback when it listens on every address.
func localHealthURL(getenv func(string) string) (string, error) {
	addr := strings.TrimSpace(getenv("KEYBOX_ADDR"))
	if addr == "" {
		port := strings.TrimSpace(getenv("PORT"))
		if port == "" {
			port = "5000"
		}
		addr = ":" + port
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" || port == "0" {
		return "", fmt.Errorf("KEYBOX_ADDR/PORT: cannot tell where the server listens from %q; use --url", addr)
	}
	if a, err := netip.ParseAddr(host); host == "" || err == nil && a.IsUnspecified() {
		host = "127.0.0.1"
		if err == nil && a.Is6() {
			host = "::1"
		}
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}

// probe GETs url and returns its status when it is 200. A redirect is not
// followed: whatever answers one is not the health endpoint.
func probe(ctx context.Context, url string, timeout time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, fmt.Errorf("--url: %w", err)
	}
	req.Header.Set("User-Agent", "keybox-healthcheck/"+buildinfo.Get().Version)
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		if ue := (*neturl.Error)(nil); errors.As(err, &ue) {
			err = ue.Err // without the method and URL, said already
		}
		return 0, fmt.Errorf("unhealthy: %s: %v", url, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, fmt.Errorf("unhealthy: %s answered %s", url, resp.Status)
	}
	return resp.StatusCode, nil
}
