package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gatehouse/gatehouse"
)

// SetOrgSetting sets one key of an organization's settings JSON, keeping the
// others, without the service's validation or audit. The load harness
// (cmd/gatehouse-bench) uses it to lift invitations_per_day for its
// benchmark organization; nothing in the request path calls it.
func (c *Conn) SetOrgSetting(ctx context.Context, orgID, key string, value any) error {
	o, err := c.OrgByID(ctx, orgID)
	if err != nil {
		return err
	}
	settings := map[string]any{}
	if len(o.Settings) > 0 {
		if err := json.Unmarshal(o.Settings, &settings); err != nil {
			return gatehouse.Internal(fmt.Errorf("organization %s settings: %w", orgID, err))
		}
	}
	settings[key] = value
	raw, err := json.Marshal(settings)
	if err != nil {
		return gatehouse.Internal(err)
	}
	_, err = c.exec(ctx, `UPDATE organizations SET settings = $2 WHERE id = $1`, orgID, string(raw))
	return err
}
