package authz_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/authz"
)

func TestParseAction(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		for _, tc := range []struct {
			in   string
			want authz.Action
		}{
			{"", authz.All},
			{"read", authz.Read},
			{"write", authz.Write},
			{"delete", authz.Delete},
			{"write+read", authz.Read | authz.Write},
			{"write+read+delete", authz.All},
			{"delete+write+read", authz.All},
			{"delete+read", authz.Read | authz.Delete},
		} {
			got, err := authz.ParseAction(tc.in)
			if err != nil || got != tc.want {
				t.Errorf("ParseAction(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		for _, in := range []string{
			"read+read", "read+", "+read", "+", "READ", "Read", "read+WRITE", "custom",
			"read write", "read,write", " read", "read+write+delete+read", "all", "*", "none",
		} {
			if got, err := authz.ParseAction(in); err == nil {
				t.Errorf("ParseAction(%q) = %v, want an error", in, got)
			}
		}
	})
}

func TestActionString(t *testing.T) {
	for _, tc := range []struct {
		in   authz.Action
		want string
	}{
		{0, "none"},
		{authz.Read, "read"},
		{authz.Delete | authz.Read, "read+delete"},
		{authz.All, "read+write+delete"},
		{authz.Write | authz.Delete, "write+delete"},
	} {
		if got := tc.in.String(); got != tc.want {
			t.Errorf("%d.String() = %q, want %q", tc.in, got, tc.want)
		}
		if tc.in != 0 {
			if back, err := authz.ParseAction(tc.in.String()); err != nil || back != tc.in {
				t.Errorf("round trip of %v = %v, %v", tc.in, back, err)
			}
		}
	}
}

func TestParseResource(t *testing.T) {
	const id = "d932c659-7ae8-4c84-aad5-8e23b275947d"
	t.Run("OK", func(t *testing.T) {
		for _, tc := range []struct {
			in   string
			want authz.Resource
		}{
			{"organization", authz.Organization()},
			{"project:" + id, authz.Project(id)},
			{"folder:" + id, authz.Folder(id)},
		} {
			got, err := authz.ParseResource(tc.in)
			if err != nil || got != tc.want {
				t.Errorf("ParseResource(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
			if got.String() != tc.in {
				t.Errorf("%v.String() = %q, want %q", got, got.String(), tc.in)
			}
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		for _, in := range []string{
			"", "organization:" + id, "org", "project", "project:", "project:*", "folder:x",
			"folder:" + "D932C659-7AE8-4C84-AAD5-8E23B275947D", "video:" + id, "project:" + id + "x",
		} {
			if got, err := authz.ParseResource(in); err == nil {
				t.Errorf("ParseResource(%q) = %v, want an error", in, got)
			}
		}
	})
}
