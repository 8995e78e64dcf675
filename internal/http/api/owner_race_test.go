package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// TestOwnerRaces fires the three ways two owners can race each other out of
// an organization (mutual demotion, mutual removal, both leaving) 50 times
// each: an owner always remains and nothing answers 5xx. Without the
// per-organization lock, PostgreSQL's READ COMMITTED lets both count two
// owners before either has written.
func TestOwnerRaces(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		aTok, aUser := srv.Signup("Ann Owner", "ann@example.com")
		bTok, bUser := srv.Signup("Bob Owner", "bob@example.com")
		aID, bID := aUser["id"].(string), bUser["id"].(string)
		client := srv.HTTP.Client()
		send := func(method, path, token, org string, body any) (int, error) {
			var rd *bytes.Reader
			if body != nil {
				raw, _ := json.Marshal(body)
				rd = bytes.NewReader(raw)
			} else {
				rd = bytes.NewReader(nil)
			}
			req, err := http.NewRequest(method, srv.URL+path, rd)
			if err != nil {
				return 0, err
			}
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("X-Organization-Id", org)
			if body != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := client.Do(req)
			if err != nil {
				return 0, err
			}
			resp.Body.Close()
			return resp.StatusCode, nil
		}
		type call struct {
			method, path, token string
			body                any
		}
		demote := map[string]any{"role": "admin"}
		races := []struct {
			name  string
			calls [2]call
		}{
			{"Demote", [2]call{{"PUT", "/v1/members/" + bID + "/permissions", aTok, demote}, {"PUT", "/v1/members/" + aID + "/permissions", bTok, demote}}},
			{"Remove", [2]call{{"DELETE", "/v1/members/" + bID, aTok, nil}, {"DELETE", "/v1/members/" + aID, bTok, nil}}},
			{"Leave", [2]call{{"DELETE", "/v1/members/" + aID, aTok, nil}, {"DELETE", "/v1/members/" + bID, bTok, nil}}},
		}
		for _, race := range races {
			t.Run(race.name, func(t *testing.T) {
				for round := 0; round < 50; round++ {
					org := srv.CreateOrg(aTok, fmt.Sprintf("%s race %d", race.name, round))
					srv.JoinStore(org, bID, gatehouse.RoleOwnerID, nil)
					var wg sync.WaitGroup
					start := make(chan struct{})
					status := [2]int{}
					errs := [2]error{}
					for i, c := range race.calls {
						wg.Add(1)
						go func() {
							defer wg.Done()
							<-start
							status[i], errs[i] = send(c.method, c.path, c.token, org, c.body)
						}()
					}
					close(start)
					wg.Wait()
					for i := range status {
						if errs[i] != nil {
							t.Fatalf("round %d: %v", round, errs[i])
						}
						if status[i] >= 500 {
							t.Fatalf("round %d: a request answered %d", round, status[i])
						}
					}
					owners := 0
					for _, id := range []string{aID, bID} {
						m, err := srv.Store.R().Membership(context.Background(), org, id)
						if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
							continue
						}
						if err != nil {
							t.Fatal(err)
						}
						if m.RoleID == gatehouse.RoleOwnerID {
							owners++
						}
					}
					if owners == 0 {
						t.Fatalf("round %d: the organization has no owner left (answers %v)", round, status)
					}
				}
			})
		}
	})
}

// TestInvitationBudgetRace: the daily invitation budget holds exactly under
// concurrency: twenty invitations sent at once against a budget of five (or
// fifteen, where most fit at once: on PostgreSQL they reserve their places
// outside their transactions, store/invitation_quota.go) leave exactly the
// budget sent, on both engines, several times.
func TestInvitationBudgetRace(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		owner, _ := srv.Signup("Ann Owner", "ann@example.com")
		client := srv.HTTP.Client()
		for round := range 5 {
			org := srv.CreateOrg(owner, fmt.Sprintf("Budget %d", round))
			budget := []int{5, 15}[round%2]
			srv.SetOrgSetting(org, "invitations_per_day", budget)
			statuses := inviteAtOnce(srv, client, owner, org, "guest", 20)
			sent := countCreated(t, round, statuses, 429)
			if sent != budget {
				t.Fatalf("round %d: %d invitations sent against a budget of %d (%v)", round, sent, budget, statuses)
			}
		}
	})
}

// TestInvitationSameAddressRace: twenty invitations to one address sent at
// once leave exactly one pending (the unique index by address, migration
// 00210, under READ COMMITTED on PostgreSQL too); the others are told it is
// already invited (409), several times.
func TestInvitationSameAddressRace(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		owner, _ := srv.Signup("Ann Owner", "ann@example.com")
		client := srv.HTTP.Client()
		org := srv.CreateOrg(owner, "Same address")
		for round := range 5 {
			addr := fmt.Sprintf("twice%d@example.com", round)
			statuses := inviteAtOnce(srv, client, owner, org, addr, 20)
			if sent := countCreated(t, round, statuses, 409); sent != 1 {
				t.Fatalf("round %d: %d invitations to one address created (%v)", round, sent, statuses)
			}
			list := srv.Must(200, apptest.Req{Method: "GET", Path: "/v1/members/invitations?email=" + addr, Token: owner, Header: apptest.OrgHeader(org)})
			if items := apptest.Items(t, list); len(items) != 1 {
				t.Fatalf("round %d: %d invitations listed to %s, want 1", round, len(items), addr)
			}
		}
	})
}

// countCreated counts the 201s among statuses and fails the test on any
// answer but 201 and refused (the refusal the race must end in).
func countCreated(t *testing.T, round int, statuses []int, refused int) int {
	t.Helper()
	sent := 0
	for _, st := range statuses {
		switch st {
		case 201:
			sent++
		case refused:
		default:
			t.Fatalf("round %d: an invitation answered %d (%v)", round, st, statuses)
		}
	}
	return sent
}

// inviteAtOnce sends n invitations (prefix0@example.com…, or all to prefix
// itself when it is an address) into org at the same instant and answers
// their statuses (0 where the request failed).
func inviteAtOnce(srv *apptest.Server, client *http.Client, owner, org, prefix string, n int) []int {
	var wg sync.WaitGroup
	start := make(chan struct{})
	statuses := make([]int, n)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			email := fmt.Sprintf("%s%d@example.com", prefix, i)
			if strings.Contains(prefix, "@") {
				email = prefix
			}
			body, _ := json.Marshal(map[string]any{"email": email, "role": "viewer"})
			req, _ := http.NewRequest("POST", srv.URL+"/v1/members/invitations", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+owner)
			req.Header.Set("X-Organization-Id", org)
			req.Header.Set("Content-Type", "application/json")
			<-start
			resp, err := client.Do(req)
			if err != nil {
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		}()
	}
	close(start)
	wg.Wait()
	return statuses
}

// TestInvitationSeatRace: the seat limit (members plus pending invitations)
// holds when invitations race for the last seats: twenty invitations sent at
// once into an organization of one member with a limit of five leave exactly
// four pending, on both engines, several times.
func TestInvitationSeatRace(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		owner, _ := srv.Signup("Sam Owner", "sam@example.com")
		client := srv.HTTP.Client()
		for round := range 3 {
			org := srv.CreateOrg(owner, fmt.Sprintf("Seats %d", round))
			apptest.Status(t, 200, srv.Do(apptest.Req{Method: "PATCH", Path: "/v1/organizations/" + org + "/policy", Token: owner,
				Body: map[string]any{"seat_limit": 5}}))
			statuses := inviteAtOnce(srv, client, owner, org, "seat", 20)
			sent := countCreated(t, round, statuses, 409)
			if sent != 4 {
				t.Fatalf("round %d: %d invitations sent against 4 free seats (%v)", round, sent, statuses)
			}
		}
	})
}
