package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/keyboxhq/keybox"
)

const projectColumns = `id, owner_id, client_id, name, created_at, updated_at, require_machine_id,
	policy_duration, policy_max_machines, policy_lease_seconds, policy_entitlements`

func scanProject(sc scanner) (keybox.Project, error) {
	var p keybox.Project
	var created, updated int64
	var entitlements string
	err := sc.Scan(&p.ID, &p.OwnerID, &p.ClientID, &p.Name, &created, &updated, &p.Policy.RequireMachineID,
		&p.Policy.Duration, &p.Policy.MaxMachines, &p.Policy.LeaseSeconds, &entitlements)
	p.CreatedAt, p.UpdatedAt = keybox.TimeFromMillis(created), keybox.TimeFromMillis(updated)
	p.Policy.Entitlements = splitList(entitlements)
	return p, err
}

func (q queries) Project(ctx context.Context, ownerID, id string) (keybox.Project, error) {
	p, err := scanProject(q.queryRow(ctx,
		`SELECT `+projectColumns+` FROM projects WHERE id = $1 AND owner_id = $2`, id, ownerID))
	return one(p, err, "project")
}

func (q queries) Projects(ctx context.Context, f keybox.ProjectFilter) ([]keybox.Project, int, error) {
	var w where
	w.add("owner_id = " + w.arg(f.OwnerID))
	if f.ClientID != "" {
		w.add("client_id = " + w.arg(f.ClientID))
	}
	w.like(f.Query, "name")
	return page(ctx, q, &w, f.Page, "projects", projectColumns, newestFirst, scanProject)
}

func (t *tx) CreateProject(ctx context.Context, p keybox.Project) error {
	_, err := t.exec(ctx, `INSERT INTO projects (`+projectColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		p.ID, p.OwnerID, p.ClientID, p.Name, p.CreatedAt.Millis(), p.UpdatedAt.Millis(), p.Policy.RequireMachineID,
		p.Policy.Duration, p.Policy.MaxMachines, p.Policy.LeaseSeconds, strings.Join(p.Policy.Entitlements, ","))
	if err != nil {
		return fmt.Errorf("create project: %w", err)
	}
	return nil
}

// UpdateProject writes the name and the policy.
func (t *tx) UpdateProject(ctx context.Context, p keybox.Project) error {
	return t.execOne(ctx, "update project",
		`UPDATE projects SET name = $3, updated_at = $4, require_machine_id = $5, policy_duration = $6,
		policy_max_machines = $7, policy_lease_seconds = $8, policy_entitlements = $9 WHERE id = $1 AND owner_id = $2`,
		p.ID, p.OwnerID, p.Name, p.UpdatedAt.Millis(), p.Policy.RequireMachineID, p.Policy.Duration,
		p.Policy.MaxMachines, p.Policy.LeaseSeconds, strings.Join(p.Policy.Entitlements, ","))
}

func (t *tx) DeleteProject(ctx context.Context, ownerID, id string, cascade bool) error {
	if cascade {
		for _, stmt := range []string{
			`DELETE FROM activations WHERE license_id IN (SELECT id FROM licenses WHERE project_id = $1 AND owner_id = $2)`,
			`DELETE FROM licenses WHERE project_id = $1 AND owner_id = $2`,
		} {
			if _, err := t.exec(ctx, stmt, id, ownerID); err != nil {
				return fmt.Errorf("delete project: %w", err)
			}
		}
	}
	return t.execOne(ctx, "delete project", `DELETE FROM projects WHERE id = $1 AND owner_id = $2`, id, ownerID)
}
