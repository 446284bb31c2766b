// Command floor is the ack bench's floor: a bare slack-go Socket Mode client
// that acks every envelope and does nothing else. `go run ./bench` builds it
// and runs it against the same Slack stand-in as `rotabot serve`, alternating
// with it, so rotabot's ack latency is read against the least a slack-go
// client does on the same machine. It takes SLACK_APP_TOKEN, SLACK_BOT_TOKEN
// and SLACK_API_URL as rotabot does, and stops on SIGTERM. It is not part of
// the product.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	api := slack.New(os.Getenv("SLACK_BOT_TOKEN"), slack.OptionAPIURL(os.Getenv("SLACK_API_URL")),
		slack.OptionAppLevelToken(os.Getenv("SLACK_APP_TOKEN")))
	client := socketmode.New(api)
	go func() {
		for evt := range client.Events {
			if evt.Request != nil {
				_ = client.Ack(*evt.Request)
			}
		}
	}()
	if err := client.RunContext(ctx); err != nil && ctx.Err() == nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}
