package keybox

import (
	"strconv"
	"unicode/utf8"
)

// The domain types encode themselves by appending to a byte slice: a
// dashboard answer holds thousands of licenses, and reflection plus one
// validated MarshalJSON call per time field cost more than the database
// read. The output is what encoding/json would produce (HTML characters are
// not escaped), with each object's fields in its documented order.

// AppendJSON appends the user, without its password hash.
func (u User) AppendJSON(b []byte) []byte {
	b = append(b, `{"_id":`...)
	b = AppendString(b, u.ID)
	b = append(b, `,"name":`...)
	b = AppendString(b, u.Name)
	b = append(b, `,"email":`...)
	b = AppendString(b, u.Email)
	b = append(b, `,"role":`...)
	b = AppendString(b, string(u.Role))
	return appendStamps(b, u.CreatedAt, u.UpdatedAt)
}

// MarshalJSON encodes the user.
func (u User) MarshalJSON() ([]byte, error) { return u.AppendJSON(nil), nil }

// AppendJSONOpen appends the client without its closing brace, so that a
// caller may add members.
func (c Client) AppendJSONOpen(b []byte) []byte {
	b = append(b, `{"_id":`...)
	b = AppendString(b, c.ID)
	b = append(b, `,"name":`...)
	b = AppendString(b, c.Name)
	b = append(b, `,"email":`...)
	b = AppendString(b, c.Email)
	b = append(b, `,"owner":`...)
	b = AppendString(b, c.OwnerID)
	return appendStampsOpen(b, c.CreatedAt, c.UpdatedAt)
}

// AppendJSON appends the client.
func (c Client) AppendJSON(b []byte) []byte { return append(c.AppendJSONOpen(b), '}') }

// MarshalJSON encodes the client.
func (c Client) MarshalJSON() ([]byte, error) { return c.AppendJSON(nil), nil }

// AppendJSONOpen appends the project without its closing brace.
func (p Project) AppendJSONOpen(b []byte) []byte {
	b = append(b, `{"_id":`...)
	b = AppendString(b, p.ID)
	b = append(b, `,"name":`...)
	b = AppendString(b, p.Name)
	b = append(b, `,"client":`...)
	b = AppendString(b, p.ClientID)
	return appendStampsOpen(b, p.CreatedAt, p.UpdatedAt)
}

// AppendJSON appends the project.
func (p Project) AppendJSON(b []byte) []byte { return append(p.AppendJSONOpen(b), '}') }

// MarshalJSON encodes the project.
func (p Project) MarshalJSON() ([]byte, error) { return p.AppendJSON(nil), nil }

// AppendJSON appends the license.
func (l License) AppendJSON(b []byte) []byte {
	b = append(b, `{"_id":`...)
	b = AppendString(b, l.ID)
	b = append(b, `,"key":`...)
	b = AppendString(b, l.Key)
	b = append(b, `,"duration":`...)
	b = strconv.AppendInt(b, int64(l.Duration), 10)
	b = append(b, `,"issuedAt":`...)
	b = appendTime(b, l.IssuedAt)
	b = append(b, `,"expiresAt":`...)
	b = appendTime(b, l.ExpiresAt)
	b = append(b, `,"status":`...)
	b = AppendString(b, string(l.Status))
	b = append(b, `,"services":[`...)
	for i, s := range l.Services {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, string(s))
	}
	b = append(b, `],"user":`...)
	b = AppendString(b, l.OwnerID)
	b = append(b, `,"client":`...)
	b = AppendString(b, l.ClientID)
	b = append(b, `,"project":`...)
	b = AppendString(b, l.ProjectID)
	b = append(b, `,"maxMachines":`...)
	b = strconv.AppendInt(b, int64(l.MaxMachines), 10)
	b = append(b, `,"machineId":`...)
	b = l.MachineID.AppendJSON(b)
	b = append(b, `,"instanceId":`...)
	b = l.InstanceID.AppendJSON(b)
	b = append(b, `,"productName":`...)
	b = l.ProductName.AppendJSON(b)
	b = append(b, `,"activatedAt":`...)
	b = appendTime(b, l.ActivatedAt)
	b = appendStampsOpen(b, l.CreatedAt, l.UpdatedAt)
	b = append(b, `,"requireMachineId":`...)
	b = strconv.AppendBool(b, l.RequireMachineID)
	b = append(b, `,"leaseSeconds":`...)
	b = strconv.AppendInt(b, int64(l.LeaseSeconds), 10)
	b = append(b, `,"entitlements":`...)
	b = AppendStrings(b, l.Entitlements)
	b = append(b, `,"metadata":`...)
	b = AppendObject(b, l.Metadata)
	if l.SeatsInUse != nil {
		b = append(b, `,"seatsInUse":`...)
		b = strconv.AppendInt(b, int64(*l.SeatsInUse), 10)
	}
	return append(b, '}')
}

// MarshalJSON encodes the license.
func (l License) MarshalJSON() ([]byte, error) { return l.AppendJSON(nil), nil }

// AppendJSON appends the activation.
func (a Activation) AppendJSON(b []byte) []byte {
	b = append(b, `{"_id":`...)
	b = AppendString(b, a.ID)
	b = append(b, `,"license":`...)
	b = AppendString(b, a.LicenseID)
	b = append(b, `,"machineId":`...)
	b = AppendString(b, a.MachineID)
	b = append(b, `,"instanceId":`...)
	b = AppendString(b, a.InstanceID)
	b = append(b, `,"productName":`...)
	b = AppendString(b, a.ProductName)
	b = append(b, `,"activatedAt":`...)
	b = appendTime(b, a.ActivatedAt)
	b = append(b, `,"lastValidatedAt":`...)
	b = appendTime(b, a.LastValidatedAt)
	b = appendStampsOpen(b, a.CreatedAt, a.UpdatedAt)
	b = append(b, `,"leaseExpiresAt":`...)
	b = appendTime(b, a.LeaseExpiresAt)
	return append(b, '}')
}

// AppendJSON appends the policy.
func (p Policy) AppendJSON(b []byte) []byte {
	b = append(b, `{"duration":`...)
	b = strconv.AppendInt(b, int64(p.Duration), 10)
	b = append(b, `,"maxMachines":`...)
	b = strconv.AppendInt(b, int64(p.MaxMachines), 10)
	b = append(b, `,"leaseSeconds":`...)
	b = strconv.AppendInt(b, int64(p.LeaseSeconds), 10)
	b = append(b, `,"requireMachineId":`...)
	b = strconv.AppendBool(b, p.RequireMachineID)
	b = append(b, `,"entitlements":`...)
	b = AppendStrings(b, p.Entitlements)
	return append(b, '}')
}

// MarshalJSON encodes the policy.
func (p Policy) MarshalJSON() ([]byte, error) { return p.AppendJSON(nil), nil }

// AppendStrings appends list as a JSON array of strings ([] when empty).
func AppendStrings(b []byte, list []string) []byte {
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, s)
	}
	return append(b, ']')
}

// AppendObject appends raw, a JSON object checked when it was stored, or {}
// when it is empty.
func AppendObject(b []byte, raw []byte) []byte {
	if len(raw) == 0 {
		return append(b, "{}"...)
	}
	return append(b, raw...)
}

// MarshalJSON encodes the activation.
func (a Activation) MarshalJSON() ([]byte, error) { return a.AppendJSON(nil), nil }

func appendStampsOpen(b []byte, created, updated Time) []byte {
	b = append(b, `,"createdAt":`...)
	b = appendTime(b, created)
	b = append(b, `,"updatedAt":`...)
	return appendTime(b, updated)
}

func appendStamps(b []byte, created, updated Time) []byte {
	return append(appendStampsOpen(b, created, updated), '}')
}

// appendTime appends t as Time.AppendJSON does, without time.AppendFormat's
// general layout interpreter: a dashboard answer holds 36,000 times, and
// formatting them was a tenth of its cost. Instants before 1970 or after
// 9999 take the general path.
func appendTime(b []byte, t Time) []byte {
	if t.IsZero() {
		return append(b, "null"...)
	}
	ms := t.UnixMilli()
	const msPerDay = 24 * 60 * 60 * 1000
	if ms < 0 || ms >= 253402300800000 { // 10000-01-01
		return t.AppendJSON(b)
	}
	days, rest := ms/msPerDay, ms%msPerDay
	// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm,
	// with eras of 400 years starting on March 1).
	z := days + 719468
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	day := doy - (153*mp+2)/5 + 1
	month := mp + 3
	if month > 12 {
		month -= 12
	}
	year := yoe + era*400
	if month <= 2 {
		year++
	}
	hour, minute := rest/3600000, rest/60000%60
	sec, milli := rest/1000%60, rest%1000
	return append(b, '"',
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+month/10), byte('0'+month%10), '-', byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':', byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), '.', byte('0'+milli/100), byte('0'+milli/10%10), byte('0'+milli%10), 'Z', '"')
}

// AppendJSON appends the string, or null when it is empty.
func (s NullString) AppendJSON(b []byte) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return AppendString(b, string(s))
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string, escaping as encoding/json does
// without HTML escaping: quotes, backslashes, control characters, invalid
// UTF-8 (as U+FFFD) and the JavaScript line separators U+2028 and U+2029.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
