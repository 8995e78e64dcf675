package respond

import "encoding/json"

// ProblemBody is the problem document Error would write for err, as a map
// (with the error's extra members), for answers that carry several
// problems, such as a bulk request's per-row results.
func ProblemBody(err error, requestID string) map[string]any {
	p, e := MakeProblem(err, requestID)
	body := map[string]any{}
	b, _ := json.Marshal(p)
	_ = json.Unmarshal(b, &body)
	for k, v := range e.Extra {
		if _, taken := body[k]; !taken {
			body[k] = v
		}
	}
	return body
}
