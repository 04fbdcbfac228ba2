#!/usr/bin/env bash
# Start a Glue crawler (or join the crawl already running), wait until the crawler is READY again,
# and report its last crawl; exit non-zero when that crawl FAILED or was CANCELLED.
#
#   scripts/start_crawler.sh CRAWLER
#
# CRAWLER is a crawler name, or a dataset (users, tweets, tweet_metrics) of stack $TWEETLAKE_STACK.
# TWEETLAKE_POLL_SECONDS (default 15), AWS_PROFILE, AWS_REGION and AWS_ENDPOINT_URL apply.
set -euo pipefail
# shellcheck source=scripts/aws_lib.sh
source "$(dirname "$0")/aws_lib.sh"

[ $# -eq 1 ] || { usage >&2; exit 2; }
case "$1" in -h | --help) usage; exit 0 ;; esac
crawler="$(dataset_resource "$1" crawler || echo "$1")"

started="$(date +%s)"
if ! error="$(awscli glue start-crawler --name "$crawler" 2>&1 >/dev/null)"; then
  case "$error" in
    *CrawlerRunningException*) say "crawler $crawler is already running: waiting for that crawl" ;;
    *) echo "$error" >&2; exit 1 ;;
  esac
else
  say "crawler $crawler started"
fi

last=""
while :; do
  state="$(awscli glue get-crawler --name "$crawler" --query Crawler.State --output text)"
  if [ "$state" != "$last" ]; then
    printf '%s  %-10s (%s)\n' "$(date -u +%H:%M:%SZ)" "$state" "$(elapsed "$started")" >&2
    last="$state"
  fi
  [ "$state" = READY ] && break
  sleep "$POLL_SECONDS"
done

status="$(awscli glue get-crawler --name "$crawler" --query Crawler.LastCrawl.Status --output text)"
echo "crawler $crawler: READY after $(elapsed "$started"); last crawl $status"
case "$status" in
  FAILED | CANCELLED)
    message="$(awscli glue get-crawler --name "$crawler" --query Crawler.LastCrawl.ErrorMessage --output text)"
    echo "error: $message" >&2
    exit 1 ;;
esac
