# The README's two commands:
#   go run ./examples/quickstart   runs the main example on the default engine
#   make test                      installs what tests need, then runs every test
.PHONY: test test-deps lint bench

# staticcheck runs with go run pkg@version: pinned, and kept out of go.mod.
STATICCHECK_VERSION := v0.8.2

test: test-deps lint
	go test -race -count=1 -timeout 25m ./...

test-deps:
	./scripts/test-deps.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...
	go run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...
