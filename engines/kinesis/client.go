package kinesis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
)

// newClient builds the SDK client: the configured region, static
// credentials when given (upstream parsed them and never used them), the
// endpoint override, and an HTTP client of our own so that Stop can close
// its idle keep-alive connections.
//
// The SDK's retryer is kept for control calls (DescribeStreamSummary,
// ListShards, GetShardIterator…) but without its client-side retry quota,
// which would turn a burst of throttles into "retry quota exceeded"
// failures; PutRecords and GetRecords are called without SDK retries,
// since the producer and the readers back off on their own.
func newClient(c Config) (*kinesis.Client, *http.Client, error) {
	buildable := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.MaxIdleConns = 256
		tr.MaxIdleConnsPerHost = 64
	}).WithDialerOptions(func(d *net.Dialer) { d.Timeout = 5 * time.Second })
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRegion(c.Region),
		awsconfig.WithHTTPClient(buildable),
		awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.RateLimiter = ratelimit.None
				o.MaxBackoff = 2 * time.Second
			})
		}),
	}
	if c.AccessKeyID != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(context.Background(), opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("kinesis: load AWS config: %w", err)
	}
	// The loaded client carries what the environment asked for (a CA
	// bundle…); take its transport into a client whose idle connections
	// Stop can close.
	tr := buildable.GetTransport()
	if bc, ok := awsCfg.HTTPClient.(*awshttp.BuildableClient); ok {
		tr = bc.GetTransport()
	}
	httpc := &http.Client{Transport: tr}
	awsCfg.HTTPClient = httpc
	cl := kinesis.NewFromConfig(awsCfg, func(o *kinesis.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
		}
	})
	return cl, httpc, nil
}

// noRetry disables the SDK's retries for one call.
func noRetry(o *kinesis.Options) { o.Retryer = aws.NopRetryer{} }

// ensureStream checks that the stream exists and is usable, creating it
// when CreateStream is on, and waits while it is CREATING or UPDATING.
// Only "not found" leads to creation: an auth or network error is
// returned as is (upstream created the stream on any error).
func (b *EventBus) ensureStream(ctx context.Context) error {
	name := b.cfg.StreamName
	created := false
	for {
		out, err := b.client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		var nf *types.ResourceNotFoundException
		switch {
		case errors.As(err, &nf) && !b.cfg.CreateStream:
			return fmt.Errorf("%w: %q (set createStream to create it with shardCount %d shards)", ErrStreamNotFound, name, b.cfg.ShardCount)
		case errors.As(err, &nf) && !created:
			_, cerr := b.client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(b.cfg.ShardCount)})
			var inUse *types.ResourceInUseException
			if cerr != nil && !errors.As(cerr, &inUse) {
				return fmt.Errorf("kinesis: create stream %q: %w", name, cerr)
			}
			created = true
			continue
		case errors.As(err, &nf):
			// Created a moment ago; not visible yet.
		case err != nil:
			return fmt.Errorf("kinesis: describe stream %q: %w", name, err)
		default:
			switch out.StreamDescriptionSummary.StreamStatus {
			case types.StreamStatusActive, types.StreamStatusUpdating:
				return nil
			case types.StreamStatusDeleting:
				return fmt.Errorf("kinesis: stream %q is being deleted", name)
			}
		}
		t := time.NewTimer(100 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("kinesis: waiting for stream %q to become active: %w", name, ctx.Err())
		case <-t.C:
		}
	}
}

// apiCode returns the error code of an AWS API error, or "".
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// throttleCodes are the error codes that mean "slow down".
var throttleCodes = map[string]bool{
	"ProvisionedThroughputExceededException": true,
	"LimitExceededException":                 true,
	"ThrottlingException":                    true,
	"Throttling":                             true,
	"KMSThrottlingException":                 true,
	"RequestLimitExceeded":                   true,
	"SlowDown":                               true,
}

// retryable reports whether a failed call is worth retrying after a
// backoff: throttling, server errors and connection problems. Context
// cancellation is not.
func retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if throttleCodes[apiCode(err)] {
		return true
	}
	return retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary
}

// permanentRecordCodes are per-record PutRecords error codes that a retry
// cannot fix.
var permanentRecordCodes = map[string]bool{
	"KMSDisabledException":      true,
	"KMSInvalidStateException":  true,
	"KMSAccessDeniedException":  true,
	"KMSNotFoundException":      true,
	"KMSOptInRequired":          true,
	"AccessDeniedException":     true,
	"InvalidArgumentException":  true,
	"ResourceNotFoundException": true,
}
