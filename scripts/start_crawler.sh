#!/usr/bin/env bash
# Start a Glue crawler (or join the crawl already running), wait until that crawl has ended and
# the crawler is READY again, and report the crawl; exit non-zero when it FAILED or was CANCELLED.
#
#   scripts/start_crawler.sh CRAWLER
#
# CRAWLER is a crawler name, or a dataset (users, tweets, tweet_metrics) of stack $TWEETLAKE_STACK.
# Right after StartCrawler, GetCrawler may still answer READY with the previous crawl: the wait ends
# only once the crawler has left READY or its last crawl is another one than before the start.
# TWEETLAKE_POLL_SECONDS (default 15), TWEETLAKE_CRAWLER_START_SECONDS (default 600: how long a
# crawler may look unstarted), AWS_PROFILE, AWS_REGION and AWS_ENDPOINT_URL apply.
set -euo pipefail
# shellcheck source=scripts/aws_lib.sh
source "$(dirname "$0")/aws_lib.sh"

[ $# -eq 1 ] || { usage >&2; exit 2; }
case "$1" in -h | --help) usage; exit 0 ;; esac
crawler="$(dataset_resource "$1" crawler || echo "$1")"

start_seconds="${TWEETLAKE_CRAWLER_START_SECONDS:-600}"
# The crawl the crawler reports before we start it ("None" before its first): a READY that still
# reports this one is not the end of our crawl.
previous="$(awscli glue get-crawler --name "$crawler" --query Crawler.LastCrawl.StartTime --output text)"

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
left_ready=false
while :; do
  # assigned first: a failing call inside <<< "$(…)" would not stop the script (set -e)
  polled="$(awscli glue get-crawler --name "$crawler" --query "Crawler.[State, LastCrawl.StartTime]" --output text)"
  read -r state crawl_start <<< "$polled"
  if [ "$state" != "$last" ]; then
    printf '%s  %-10s (%s)\n' "$(date -u +%H:%M:%SZ)" "$state" "$(elapsed "$started")" >&2
    last="$state"
  fi
  if [ "$state" != READY ]; then
    left_ready=true
  elif [ "$left_ready" = true ] || [ "$crawl_start" != "$previous" ]; then
    break
  elif [ $(($(date +%s) - started)) -ge "$start_seconds" ]; then
    echo "error: crawler $crawler still READY with its previous crawl ${start_seconds}s after the start: it did not start" >&2
    exit 1
  fi
  sleep "$POLL_SECONDS"
done

status="$(awscli glue get-crawler --name "$crawler" --query Crawler.LastCrawl.Status --output text)"
echo "crawler $crawler: READY after $(elapsed "$started"); last crawl $status"
case "$status" in
  FAILED | CANCELLED)
    message="$(awscli glue get-crawler --name "$crawler" --query Crawler.LastCrawl.ErrorMessage --output text)"
    [ "$message" = None ] && message=""
    read -r log_group log_stream <<< "$(awscli glue get-crawler --name "$crawler" \
      --query "Crawler.LastCrawl.[LogGroup, LogStream]" --output text)"
    echo "error: last crawl $status${message:+: $message}" >&2
    [ "$log_group" != None ] && echo "its log: CloudWatch Logs group $log_group, stream $log_stream" >&2
    exit 1 ;;
esac
