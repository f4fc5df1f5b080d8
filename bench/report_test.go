package main

import "testing"

// The command line recorded with the results never carries a password.
func TestCommandLine(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-mode", "cold", "-keys", "1000"}, "go run ./bench -mode cold -keys 1000"},
		{[]string{"-db", "postgres://bench:hunter2@db:5432/x?sslmode=disable"}, "go run ./bench -db 'postgres://bench:xxxxx@db:5432/x?sslmode=disable'"},
		{[]string{"-db=postgres://bench:hunter2@db/x"}, "go run ./bench -db=postgres://bench:xxxxx@db/x"},
		{[]string{"-note", "format sample"}, "go run ./bench -note 'format sample'"},
	} {
		if got := commandLine(tc.args); got != tc.want {
			t.Errorf("commandLine(%q) = %s, want %s", tc.args, got, tc.want)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{0.9, 0.2, 0.5}, 0.5}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(tc.xs); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.xs, got, tc.want)
		}
	}
}
