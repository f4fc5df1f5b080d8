package webhook

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
)

// queue is a Source of deliveries held in memory: what the worker does with
// them is under test here, not the store (see internal/licensing and
// internal/storetest for that).
type queue struct {
	mu       sync.Mutex
	due      []keybox.DeliveryJob
	finished chan Result
}

func (q *queue) ClaimDeliveries(_ context.Context, limit int) ([]keybox.DeliveryJob, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := min(limit, len(q.due))
	jobs := q.due[:n]
	q.due = q.due[n:]
	return jobs, nil
}

func (q *queue) FinishDelivery(_ context.Context, _ keybox.DeliveryJob, r Result) error {
	q.finished <- r
	return nil
}

func (q *queue) add(url string, n int, hooks int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i := range n {
		q.due = append(q.due, keybox.DeliveryJob{
			Delivery: keybox.Delivery{ID: fmt.Sprint("msg_", i), Payload: []byte(`{}`)},
			Webhook:  keybox.Webhook{ID: fmt.Sprint("hook_", i%hooks), URL: url, Secret: []byte("k")},
		})
	}
}

// TestWorkerBoundsConcurrency: however many deliveries are due, at most
// Concurrency attempts are in flight; woken, it claims what came due; when
// stopped, it lets the attempts in flight finish and records them.
func TestWorkerBoundsConcurrency(t *testing.T) {
	var mu sync.Mutex
	inFlight, most := 0, 0
	release := make(chan struct{})
	arrived := make(chan struct{}, 100)
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		mu.Unlock()
		arrived <- struct{}{}
		<-release
		mu.Lock()
		inFlight--
		mu.Unlock()
	}))
	defer endpoint.Close()
	q := &queue{finished: make(chan Result, 100)}
	wake := make(chan struct{}, 1)
	w := &Worker{Source: q, Sender: NewSender(Policy{AllowPrivate: true}), Concurrency: 3, Poll: time.Hour, Wake: wake}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()

	q.add(endpoint.URL, 10, 10) // ten endpoints, each one delivery
	wake <- struct{}{}
	for range 3 {
		<-arrived
	}
	select {
	case <-arrived:
		t.Fatal("a fourth attempt began while three were in flight")
	case <-time.After(100 * time.Millisecond):
		// Nothing more began. (A slow machine can only make this pass
		// wrongly, never fail wrongly.)
	}
	stop()
	close(release)
	<-done
	if len(q.finished) != 3 {
		t.Fatalf("%d attempts recorded at shutdown, want the 3 in flight", len(q.finished))
	}
	for range 3 {
		if r := <-q.finished; !r.OK() {
			t.Fatalf("an attempt in flight at shutdown was cut short: %+v", r)
		}
	}
	if most != 3 {
		t.Fatalf("at most %d attempts in flight, want 3", most)
	}
}

// TestWorkerOneEndpointInTurn: the deliveries of one endpoint claimed
// together go one after another, in order, taking one slot.
func TestWorkerOneEndpointInTurn(t *testing.T) {
	var mu sync.Mutex
	var order []string
	inFlight, most := 0, 0
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		order = append(order, r.Header.Get(HeaderID))
		mu.Unlock()
		mu.Lock()
		inFlight--
		mu.Unlock()
	}))
	defer endpoint.Close()
	q := &queue{finished: make(chan Result, 100)}
	q.add(endpoint.URL, 4, 1)
	w := &Worker{Source: q, Sender: NewSender(Policy{AllowPrivate: true}), Concurrency: 4}
	if n, err := w.Drain(context.Background()); err != nil || n != 4 {
		t.Fatalf("drained %d, %v", n, err)
	}
	if most != 1 || fmt.Sprint(order) != "[msg_0 msg_1 msg_2 msg_3]" {
		t.Fatalf("at most %d at once, in the order %v", most, order)
	}
}
