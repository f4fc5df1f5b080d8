package server

import (
	"net/http"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/licensing"
)

func (s *Server) handleCreateProjectWithLicense(w http.ResponseWriter, r *http.Request, u keybox.User) {
	var in licensing.NewProjectWithLicense
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	p, l, err := s.svc.CreateProjectWithLicense(r.Context(), u, in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"message": "Project and License created successfully", "project": p, "license": l})
}

func (s *Server) handleCreateProject(w http.ResponseWriter, r *http.Request, u keybox.User) {
	var in licensing.NewProject
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.svc.CreateProject(r.Context(), u, in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"message": "Project created successfully", "project": p})
}

func (s *Server) handleListProjects(w http.ResponseWriter, r *http.Request, u keybox.User) {
	in, err := listInput(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	list, total, page, err := s.svc.Projects(r.Context(), u, licensing.ProjectList{ListInput: in, ClientID: r.URL.Query().Get("clientId")})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listBody("projects", list, total, page))
}

func (s *Server) handleGetProject(w http.ResponseWriter, r *http.Request, u keybox.User) {
	p, err := s.svc.Project(r.Context(), u, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"project": p})
}

func (s *Server) handleRenameProject(w http.ResponseWriter, r *http.Request, u keybox.User) {
	var in licensing.ProjectPatch
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.svc.RenameProject(r.Context(), u, r.PathValue("id"), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"message": "Project updated successfully", "project": p})
}

func (s *Server) handleDeleteProject(w http.ResponseWriter, r *http.Request, u keybox.User) {
	if err := s.svc.DeleteProject(r.Context(), u, r.PathValue("id"), cascade(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"message": "Project deleted successfully"})
}

func (s *Server) handleGetPolicy(w http.ResponseWriter, r *http.Request, u keybox.User) {
	p, err := s.svc.Policy(r.Context(), u, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"policy": p})
}

func (s *Server) handlePatchPolicy(w http.ResponseWriter, r *http.Request, u keybox.User) {
	var in licensing.PolicyPatch
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.svc.PatchPolicy(r.Context(), u, r.PathValue("id"), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"message": "Policy updated", "policy": p})
}
