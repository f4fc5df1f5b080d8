package sqlstore

import (
	"strconv"
	"strings"
)

// where builds a WHERE clause with numbered placeholders.
type where struct {
	conds []string
	args  []any
}

// arg adds an argument and returns its placeholder.
func (w *where) arg(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
}

func (w *where) add(cond string) { w.conds = append(w.conds, cond) }

// like adds a case-insensitive substring match of q against any of columns.
func (w *where) like(q string, columns ...string) {
	if q == "" {
		return
	}
	p := w.arg("%" + escapeLike(strings.ToLower(q)) + "%")
	ors := make([]string, len(columns))
	for i, c := range columns {
		ors[i] = "lower(" + c + ") LIKE " + p + ` ESCAPE '\'`
	}
	w.add("(" + strings.Join(ors, " OR ") + ")")
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// limit returns the LIMIT/OFFSET clause of a page; none when limit is 0.
func (w *where) limit(limit, offset int) string {
	if limit <= 0 {
		return ""
	}
	return " LIMIT " + w.arg(limit) + " OFFSET " + w.arg(offset)
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
