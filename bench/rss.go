package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
)

// validateEach sends POST /validate once for every body of the keys file,
// over conns connections, and checks that every answer is valid. It is the
// RSS mode's load, and the sanity check of the other modes.
func validateEach(ctx context.Context, base, keysFile string, conns, limit int) (int, error) {
	f, err := os.Open(keysFile)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	bodies := make(chan []byte, conns)
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			for body := range bodies {
				if err := validateOne(ctx, client, base, body); err != nil {
					cancel(err)
				}
			}
		})
	}
	sent := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() && ctx.Err() == nil && (limit <= 0 || sent < limit) {
		if len(sc.Bytes()) == 0 {
			continue
		}
		select {
		case bodies <- bytes.Clone(sc.Bytes()):
			sent++
		case <-ctx.Done():
		}
	}
	close(bodies)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return sent, err
	}
	return sent, sc.Err()
}

func validateOne(ctx context.Context, client *http.Client, base string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/validate", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(answer, []byte(`"valid":true`)) {
		return fmt.Errorf("POST /validate %s: %d %s", body, resp.StatusCode, answer)
	}
	return nil
}
