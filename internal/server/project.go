package server

import (
	"net/http"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/licensing"
)

// projectAnswer is one project.
type projectAnswer struct {
	Project keybox.Project `json:"project"`
}

// projectChanged is a project after a change.
type projectChanged struct {
	Message string         `json:"message"`
	Project keybox.Project `json:"project"`
}

// projectWithLicense is a new project and its first license.
type projectWithLicense struct {
	License keybox.License `json:"license"`
	Message string         `json:"message"`
	Project keybox.Project `json:"project"`
}

// projectList is a page of projects.
type projectList struct {
	Limit    int              `json:"limit"`
	Page     int              `json:"page"`
	Projects []keybox.Project `json:"projects"`
	Total    int              `json:"total"`
}

func (s *Server) createProjectWithLicense(r *http.Request, u keybox.User, in licensing.NewProjectWithLicense) (projectWithLicense, error) {
	p, l, err := s.svc.CreateProjectWithLicense(r.Context(), u, in)
	return projectWithLicense{Message: "Project and License created successfully", Project: p, License: l}, err
}

func (s *Server) createProject(r *http.Request, u keybox.User, in licensing.NewProject) (projectChanged, error) {
	p, err := s.svc.CreateProject(r.Context(), u, in)
	return projectChanged{Message: "Project created successfully", Project: p}, err
}

func (s *Server) listProjects(r *http.Request, u keybox.User, _ none) (projectList, error) {
	in, err := listInput(r)
	if err != nil {
		return projectList{}, err
	}
	list, total, in, err := s.svc.Projects(r.Context(), u, licensing.ProjectList{ListInput: in, ClientID: r.URL.Query().Get("clientId")})
	return projectList{Projects: list, Total: total, Page: in.Page, Limit: in.Limit}, err
}

func (s *Server) getProject(r *http.Request, u keybox.User, _ none) (projectAnswer, error) {
	p, err := s.svc.Project(r.Context(), u, r.PathValue("id"))
	return projectAnswer{Project: p}, err
}

func (s *Server) renameProject(r *http.Request, u keybox.User, in licensing.ProjectPatch) (projectChanged, error) {
	p, err := s.svc.RenameProject(r.Context(), u, r.PathValue("id"), in)
	return projectChanged{Message: "Project updated successfully", Project: p}, err
}

func (s *Server) deleteProject(r *http.Request, u keybox.User, _ none) (confirmation, error) {
	return confirmation{Message: "Project deleted successfully"}, s.svc.DeleteProject(r.Context(), u, r.PathValue("id"), cascade(r))
}

// policyAnswer is a project's policy.
type policyAnswer struct {
	Policy keybox.Policy `json:"policy"`
}

func (s *Server) getPolicy(r *http.Request, u keybox.User, _ none) (policyAnswer, error) {
	p, err := s.svc.Policy(r.Context(), u, r.PathValue("id"))
	return policyAnswer{Policy: p}, err
}

// policyChanged is a project's policy after a change.
type policyChanged struct {
	Message string        `json:"message"`
	Policy  keybox.Policy `json:"policy"`
}

func (s *Server) patchPolicy(r *http.Request, u keybox.User, in licensing.PolicyPatch) (policyChanged, error) {
	p, err := s.svc.PatchPolicy(r.Context(), u, r.PathValue("id"), in)
	return policyChanged{Message: "Policy updated", Policy: p}, err
}
