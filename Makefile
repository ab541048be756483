# The README's two commands:
#   go run ./examples/quickstart   runs the main example on the default engine
#   make test                      installs what tests need, then runs every test
.PHONY: test test-deps lint bench

test: test-deps lint
	go test -race -count=1 -timeout 25m ./...

test-deps:
	./scripts/test-deps.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...
