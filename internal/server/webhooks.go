package server

import (
	"net/http"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/licensing"
)

// webhookCreated is a new webhook and its secret, shown this once.
type webhookCreated struct {
	Message string         `json:"message"`
	Webhook keybox.Webhook `json:"webhook"`
	Secret  string         `json:"secret" doc:"whsec_ and the base64 of the signing key: shown this once, stored only encrypted."`
}

// webhookAnswer is one webhook.
type webhookAnswer struct {
	Webhook keybox.Webhook `json:"webhook"`
}

// webhookChanged is a webhook after a change.
type webhookChanged struct {
	Message string         `json:"message"`
	Webhook keybox.Webhook `json:"webhook"`
}

// webhookList is every webhook of the caller.
type webhookList struct {
	Webhooks []keybox.Webhook `json:"webhooks"`
	Total    int              `json:"total"`
}

// deliveryList is a page of a webhook's deliveries.
type deliveryList struct {
	Deliveries []keybox.Delivery `json:"deliveries"`
	Total      int               `json:"total"`
	Page       int               `json:"page"`
	Limit      int               `json:"limit"`
}

// deliveryQueued is a test message waiting for the delivery worker.
type deliveryQueued struct {
	Message  string          `json:"message"`
	Delivery keybox.Delivery `json:"delivery"`
}

func (s *Server) createWebhook(r *http.Request, u keybox.User, in licensing.WebhookInput) (webhookCreated, error) {
	w, secret, err := s.svc.CreateWebhook(r.Context(), u, in)
	return webhookCreated{Message: "Webhook created", Webhook: w, Secret: secret}, err
}

func (s *Server) listWebhooks(r *http.Request, u keybox.User, _ none) (webhookList, error) {
	list, err := s.svc.Webhooks(r.Context(), u)
	return webhookList{Webhooks: list, Total: len(list)}, err
}

func (s *Server) getWebhook(r *http.Request, u keybox.User, _ none) (webhookAnswer, error) {
	w, err := s.svc.Webhook(r.Context(), u, r.PathValue("id"))
	return webhookAnswer{Webhook: w}, err
}

func (s *Server) updateWebhook(r *http.Request, u keybox.User, in licensing.WebhookInput) (webhookChanged, error) {
	w, err := s.svc.UpdateWebhook(r.Context(), u, r.PathValue("id"), in)
	return webhookChanged{Message: "Webhook updated", Webhook: w}, err
}

func (s *Server) deleteWebhook(r *http.Request, u keybox.User, _ none) (confirmation, error) {
	return confirmation{Message: "Webhook deleted"}, s.svc.DeleteWebhook(r.Context(), u, r.PathValue("id"))
}

func (s *Server) listDeliveries(r *http.Request, u keybox.User, _ none) (deliveryList, error) {
	page, err := listInput(r)
	if err != nil {
		return deliveryList{}, err
	}
	list, total, in, err := s.svc.Deliveries(r.Context(), u, r.PathValue("id"), licensing.DeliveryList{Page: page.Page, Limit: page.Limit})
	return deliveryList{Deliveries: list, Total: total, Page: in.Page, Limit: in.Limit}, err
}

func (s *Server) testWebhook(r *http.Request, u keybox.User, _ none) (deliveryQueued, error) {
	d, err := s.svc.TestWebhook(r.Context(), u, r.PathValue("id"))
	return deliveryQueued{Message: "Test delivery queued", Delivery: d}, err
}

// deliveryRetried is a delivery queued again.
type deliveryRetried struct {
	Message  string          `json:"message"`
	Delivery keybox.Delivery `json:"delivery"`
}

func (s *Server) retryDelivery(r *http.Request, u keybox.User, _ none) (deliveryRetried, error) {
	d, err := s.svc.RetryDelivery(r.Context(), u, r.PathValue("id"), r.PathValue("deliveryId"))
	return deliveryRetried{Message: "Delivery queued", Delivery: d}, err
}
