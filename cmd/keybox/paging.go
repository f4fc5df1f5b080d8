package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/keyboxhq/keybox/client"
)

// allPageSize is the page size --all reads with: the most the server gives.
const allPageSize = 100

// pageFlags are the flags of every list command: a search, and which rows.
type pageFlags struct {
	query       string
	page, limit intFlag
	all         bool
}

func listFlags(fs *flag.FlagSet) *pageFlags {
	var p pageFlags
	fs.StringVar(&p.query, "q", "", "only items whose name or email (licenses: key) contains this")
	fs.Var(&p.page, "page", "page `number`, from 1 (default 1)")
	fs.Var(&p.limit, "limit", "`rows` per page, 1-100 (default 20)")
	fs.BoolVar(&p.all, "all", false, "every row: read page after page")
	return &p
}

// options are the API's paging options for the page asked for.
func (p *pageFlags) options(s *session) (client.ListOptions, error) {
	short := s.name[len("keybox "):]
	switch {
	case p.all && (p.page.set || p.limit.set):
		return client.ListOptions{}, usageError(short + ": --all reads every page: give it without --page and --limit")
	case p.page.set && p.page.value < 1:
		return client.ListOptions{}, usageError(fmt.Sprintf("%s: --page %d: pages count from 1", short, p.page.value))
	case p.limit.set && p.limit.value < 1:
		return client.ListOptions{}, usageError(fmt.Sprintf("%s: --limit %d: give at least 1 row per page", short, p.limit.value))
	}
	return client.ListOptions{Query: p.query, Page: p.page.value, Limit: p.limit.value}, nil
}

// pageOf is one page of a list, or with --all the whole list as one page.
type pageOf[T any] struct {
	items              []T
	total, page, limit int
}

// fetchList reads the page the flags ask for or, with --all, every page,
// each row once (id names a row). Rows created or deleted while --all reads
// may be missed, as on any walk through pages.
func fetchList[T any](ctx context.Context, s *session, p *pageFlags, id func(T) string,
	get func(context.Context, client.ListOptions) (pageOf[T], error)) (pageOf[T], error) {
	opts, err := p.options(s)
	if err != nil {
		return pageOf[T]{}, err
	}
	if !p.all {
		return get(ctx, opts)
	}
	opts.Limit = allPageSize
	all := make([]T, 0)
	seen := map[string]bool{}
	for opts.Page = 1; ; opts.Page++ {
		got, err := get(ctx, opts)
		if err != nil {
			return pageOf[T]{}, err
		}
		for _, it := range got.items {
			if k := id(it); !seen[k] {
				seen[k] = true
				all = append(all, it)
			}
		}
		if len(got.items) == 0 || len(got.items) < got.limit || opts.Page*got.limit >= got.total {
			break
		}
	}
	return pageOf[T]{items: all, total: len(all), page: 1, limit: len(all)}, nil
}

// emitList prints a list (v in JSON) and, when rows are left out, says how
// to get them: below the table, or on standard error beside JSON.
func emitList[T any](s *session, p *pageFlags, got pageOf[T], v any, table func(w io.Writer)) error {
	if err := s.emit(v, table); err != nil {
		return err
	}
	if note := p.note(len(got.items), got.total, got.page, got.limit); note != "" {
		if s.json {
			fmt.Fprintln(s.stderr, "keybox:", note)
		} else {
			fmt.Fprintln(s.stdout, note)
		}
	}
	return nil
}

// note tells the reader of one page that the list goes on:
// "showing 1–20 of 137; --all for every row, or --page 2".
func (p *pageFlags) note(shown, total, page, limit int) string {
	if p.all || shown >= total || limit < 1 {
		return ""
	}
	page = max(page, 1)
	if shown == 0 {
		last := (total + limit - 1) / limit
		return fmt.Sprintf("page %d is past the end: %d rows, %d to a page, the last page is %d; --all for every row", page, total, limit, last)
	}
	first := (page-1)*limit + 1
	last := first + shown - 1
	note := fmt.Sprintf("showing %d–%d of %d; --all for every row", first, last, total)
	if first == last {
		note = fmt.Sprintf("showing row %d of %d; --all for every row", first, total)
	}
	if last < total {
		note += fmt.Sprintf(", or --page %d", page+1)
		if p.limit.set {
			note += fmt.Sprintf(" --limit %d", limit)
		}
	}
	return note
}
