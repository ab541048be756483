//go:build unix

package testinfra

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckInstalledNamesWhatIsMissingAndTheInstallCommand(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no redis-server, no node
	t.Run("redis-server", func(t *testing.T) {
		if err := CheckInstalled(RedisServer); !errors.Is(err, ErrRedisMissing) {
			t.Fatalf("CheckInstalled(RedisServer) = %v, want ErrRedisMissing", err)
		}
	})
	t.Run("kinesalite", func(t *testing.T) {
		err := CheckInstalled(KinesaliteServer)
		if err == nil || !strings.Contains(err.Error(), "node is not installed") || !strings.Contains(err.Error(), "./scripts/test-deps.sh") {
			t.Fatalf("CheckInstalled(KinesaliteServer) = %v, want the line naming node and ./scripts/test-deps.sh", err)
		}
	})
	t.Run("both, one line each", func(t *testing.T) {
		err := CheckInstalled(RedisServer, KinesaliteServer)
		if err == nil || len(strings.Split(err.Error(), "\n")) != 2 {
			t.Fatalf("CheckInstalled(both) = %q, want two lines", err)
		}
	})
	t.Run("nothing asked, nothing missing", func(t *testing.T) {
		if err := CheckInstalled(); err != nil {
			t.Fatal(err)
		}
	})
}
