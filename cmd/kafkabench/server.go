package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/switchyard-go/eventbus/internal/devkafka"
)

// The broker runs in a child process (this binary with -serve), so that
// the allocation figures of the measuring process count the Kafka clients
// (sarama, and the engine on top of it) and not the in-process broker.

// serve runs a one-broker kfake cluster on 127.0.0.1, prints its address
// and lives until stdin is closed.
func serve() {
	c, err := devkafka.Start(devkafka.Options{Partitions: 8})
	if err != nil {
		fmt.Fprintln(os.Stderr, "kafkabench -serve:", err)
		os.Exit(1)
	}
	fmt.Println(strings.Join(c.ListenAddrs(), ","))
	_, _ = io.Copy(io.Discard, os.Stdin)
	c.Close()
}

type server struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	addrs []string
}

// startServer starts the child broker process.
func startServer() (*server, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-serve")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("kfake child: %w", err)
	}
	return &server{cmd: cmd, stdin: stdin, addrs: strings.Split(strings.TrimSpace(line), ",")}, nil
}

func (s *server) stop() {
	_ = s.stdin.Close()
	_ = s.cmd.Wait()
}
