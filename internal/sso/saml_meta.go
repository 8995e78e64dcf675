package sso

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/crewjam/saml/samlsp"

	"github.com/gatehouse/gatehouse"
)

// CheckIdPMetadata reports whether xml is a SAML identity provider's
// metadata with a single sign-on service.
func CheckIdPMetadata(xml string) error {
	ed, err := samlsp.ParseMetadata([]byte(xml))
	if err != nil {
		return err
	}
	for _, d := range ed.IDPSSODescriptors {
		if len(d.SingleSignOnServices) > 0 {
			return nil
		}
	}
	return fmt.Errorf("no IDPSSODescriptor with a SingleSignOnService")
}

// FetchIdPMetadata downloads an identity provider's metadata (https only,
// at most 1 MiB, 10 seconds).
func FetchIdPMetadata(ctx context.Context, rawURL string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", errUnavailable(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", &gatehouse.Error{Code: gatehouse.EINVALID, Reason: "idp_metadata_unreachable",
			Message: fmt.Sprintf("The metadata URL answered %d.", resp.StatusCode)}
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", errUnavailable(err)
	}
	return string(b), nil
}
