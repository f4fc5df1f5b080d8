package server

import (
	"net/http"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/licensing"
)

func (s *Server) handleCreateWebhook(w http.ResponseWriter, r *http.Request, u keybox.User) {
	var in licensing.WebhookInput
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	hook, secret, err := s.svc.CreateWebhook(r.Context(), u, in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"message": "Webhook created", "webhook": hook, "secret": secret})
}

func (s *Server) handleListWebhooks(w http.ResponseWriter, r *http.Request, u keybox.User) {
	list, err := s.svc.Webhooks(r.Context(), u)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": list, "total": len(list)})
}

func (s *Server) handleGetWebhook(w http.ResponseWriter, r *http.Request, u keybox.User) {
	hook, err := s.svc.Webhook(r.Context(), u, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhook": hook})
}

func (s *Server) handleUpdateWebhook(w http.ResponseWriter, r *http.Request, u keybox.User) {
	var in licensing.WebhookInput
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	hook, err := s.svc.UpdateWebhook(r.Context(), u, r.PathValue("id"), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"message": "Webhook updated", "webhook": hook})
}

func (s *Server) handleDeleteWebhook(w http.ResponseWriter, r *http.Request, u keybox.User) {
	if err := s.svc.DeleteWebhook(r.Context(), u, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"message": "Webhook deleted"})
}

func (s *Server) handleListDeliveries(w http.ResponseWriter, r *http.Request, u keybox.User) {
	page, err := listInput(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	list, total, in, err := s.svc.Deliveries(r.Context(), u, r.PathValue("id"), licensing.DeliveryList{Page: page.Page, Limit: page.Limit})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listBody("deliveries", list, total, in))
}

func (s *Server) handleTestWebhook(w http.ResponseWriter, r *http.Request, u keybox.User) {
	d, err := s.svc.TestWebhook(r.Context(), u, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"message": "Test delivery queued", "delivery": d})
}
