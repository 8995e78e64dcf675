package service

// Checks of what people type when they sign up: email, password, name.

import (
	"bufio"
	_ "embed"
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
)

//go:embed common_passwords.txt
var commonPasswordsFile string

var commonPasswords = func() map[string]bool {
	m := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(commonPasswordsFile))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			m[strings.ToLower(line)] = true
		}
	}
	return m
}()

// ValidateEmail checks an address's shape and returns it trimmed.
func ValidateEmail(field, email string) (string, *gatehouse.FieldError) {
	email = strings.TrimSpace(email)
	if email == "" {
		return "", &gatehouse.FieldError{Field: field, Message: "is required"}
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || len(email) > 254 || !strings.Contains(email[strings.LastIndexByte(email, '@'):], ".") {
		return "", &gatehouse.FieldError{Field: field, Message: "must be an email address like name@example.com"}
	}
	return email, nil
}

// validatePassword checks length and the common-password list.
func validatePassword(field, pw string) *gatehouse.FieldError {
	n := utf8.RuneCountInString(pw)
	switch {
	case pw == "":
		return &gatehouse.FieldError{Field: field, Message: "is required"}
	case n < PasswordMin:
		return &gatehouse.FieldError{Field: field, Message: "must be at least 10 characters"}
	case n > PasswordMax:
		return &gatehouse.FieldError{Field: field, Message: "must be at most 128 characters"}
	case commonPasswords[strings.ToLower(pw)]:
		return &gatehouse.FieldError{Field: field, Message: "is too common; choose a less guessable password"}
	}
	return nil
}

func validateName(field, name string, required bool) (string, *gatehouse.FieldError) {
	name = strings.TrimSpace(name)
	switch {
	case name == "" && required:
		return "", &gatehouse.FieldError{Field: field, Message: "is required"}
	case utf8.RuneCountInString(name) > 100:
		return "", &gatehouse.FieldError{Field: field, Message: "must be at most 100 characters"}
	case strings.ContainsAny(name, "\x00\r\n"):
		return "", &gatehouse.FieldError{Field: field, Message: "must be one line of text"}
	}
	return name, nil
}

// fields collects field errors into one validation error, nil when none.
func fields(errs ...*gatehouse.FieldError) error {
	var out []gatehouse.FieldError
	for _, e := range errs {
		if e != nil {
			out = append(out, *e)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return gatehouse.Invalid("The request has invalid fields.", out...)
}
