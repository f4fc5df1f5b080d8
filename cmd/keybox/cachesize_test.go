package main

import (
	"strings"
	"testing"

	"github.com/keyboxhq/keybox/internal/licensing"
)

// TestConfigCacheSize: KEYBOX_CACHE_SIZE takes bytes or a size in KB, MB or
// GB (powers of 1024), between 1MB and 64GB; a bad value is one line
// naming the variable.
func TestConfigCacheSize(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want int64
	}{
		{"", licensing.DefaultCacheSize},
		{"64MB", 64 << 20},
		{"2GB", 2 << 30},
		{"1536KiB", 1536 << 10},
		{"16 MiB", 16 << 20},
		{"1048576", 1 << 20},
	} {
		c, err := loadConfig("serve", nil, envFunc(map[string]string{"KEYBOX_CACHE_SIZE": tc.env}))
		if err != nil || c.cacheSize != tc.want {
			t.Errorf("KEYBOX_CACHE_SIZE=%q: got %d, %v; want %d", tc.env, c.cacheSize, err, tc.want)
		}
	}
	c, err := loadConfig("serve", []string{"-cache-size", "256MB"}, envFunc(map[string]string{"KEYBOX_CACHE_SIZE": "64MB"}))
	if err != nil || c.cacheSize != 256<<20 {
		t.Errorf("-cache-size 256MB over the environment: got %d, %v", c.cacheSize, err)
	}
	for _, v := range []string{"0", "512KB", "65GB", "lots", "-1MB", "1.5GB", "64TB"} {
		_, err := loadConfig("serve", nil, envFunc(map[string]string{"KEYBOX_CACHE_SIZE": v}))
		want := "KEYBOX_CACHE_SIZE: \"" + v + "\" is not a size"
		if err == nil || !strings.HasPrefix(err.Error(), want) || strings.Count(err.Error(), "\n") != 0 {
			t.Errorf("KEYBOX_CACHE_SIZE=%s: got %v, want one line starting %q", v, err, want)
		}
	}
}
