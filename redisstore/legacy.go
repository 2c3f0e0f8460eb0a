package redisstore

import (
	"context"
	"strconv"
	"strings"

	"github.com/redis/rueidis"
)

// Revocations recorded by releases before generations: stream entries
// without a generation, their times in Unix ns ("a": sessions created
// before it, "u": needed until then), and no sequence or snapshot. The
// first Store that starts on such a Redis carries them into the snapshot
// (carryLegacy), so that an upgrade forgets no logout: a revoked ID as it
// was, a revoked scope as a new revocation of it, with a generation of its
// own. Sessions sealed before generations count as generation 0, so the
// new revocation ends every such session of the scope, which the old one
// did for those created before its moment (a session of the scope made
// after that moment and before the upgrade is ended too: fail safe, once).

// carryLegacy carries the legacy entries of the stream into the snapshot
// when the sequence does not exist yet (a Redis that never held
// generations), then creates the sequence (initSequence) so that later
// starts skip it. It reports whether it carried anything. Each command is
// bounded by the Store's Timeout, not the whole: a long legacy stream
// takes one read per thousand entries.
func (s *Store) carryLegacy(ctx context.Context) (bool, error) {
	var n int64
	err := s.bounded(ctx, func(ctx context.Context) (err error) {
		n, err = s.client.Do(ctx, s.client.B().Exists().Key(s.keys[keySeq]).Build()).AsInt64()
		return err
	})
	if err != nil {
		return false, err
	}
	if n > 0 {
		return false, s.initSequence(ctx)
	}
	now := s.now().UnixNano()
	ids := map[string]int64{}
	scopes := map[string]int64{}
	start := "-"
	for {
		var page []rueidis.XRangeEntry
		err := s.bounded(ctx, func(ctx context.Context) (err error) {
			page, err = s.client.Do(ctx, s.client.B().Xrange().Key(s.stream).Start(start).End("+").Count(readCount).Build()).AsXRange()
			return err
		})
		if err != nil {
			return false, err
		}
		for _, x := range page {
			fv := x.FieldValues
			if _, ok := fv[fieldGen]; ok {
				continue
			}
			u, err := strconv.ParseInt(fv[fieldUntil], 10, 64)
			if err != nil || u <= now {
				continue
			}
			u = s.capUntil(u, now)
			kind, value := fv[fieldKind], fv[fieldValue]
			switch {
			case !validLabel(kind, value):
			case kind == kindID:
				ids[value] = max(ids[value], u)
			default:
				f := kind + ":" + value
				scopes[f] = max(scopes[f], u)
			}
		}
		if len(page) < readCount {
			break
		}
		start = "(" + page[len(page)-1].ID
	}
	batch := make([]string, 0, 2*500)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := s.bounded(ctx, func(ctx context.Context) error {
			return mergeIDsScript.Exec(ctx, s.client, s.keys, batch).Error()
		})
		batch = batch[:0]
		return err
	}
	for id, u := range ids {
		batch = append(batch, id, strconv.FormatInt(ceilMs(u), 10))
		if len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return false, err
			}
		}
	}
	if err := flush(); err != nil {
		return false, err
	}
	nowMs := strconv.FormatInt(now/1e6, 10)
	for f, u := range scopes {
		kind, value, _ := strings.Cut(f, ":")
		args := []string{kind, value, strconv.FormatInt(ceilMs(u), 10), nowMs, "0", "0"}
		err := s.bounded(ctx, func(ctx context.Context) error {
			return revokeScript.Exec(ctx, s.client, s.keys, args).Error()
		})
		if err != nil {
			return false, err
		}
	}
	if err := s.initSequence(ctx); err != nil {
		return false, err
	}
	if len(ids)+len(scopes) > 0 {
		s.logger.Info("cookiesession: redisstore: revocations recorded before generations carried into the snapshot",
			"stream", s.stream, "ids", len(ids), "scopes", len(scopes))
	}
	return len(ids)+len(scopes) > 0, nil
}

// initSequence creates the sequence when it does not exist (at Redis's
// clock, with its epoch) and gives one without an epoch an epoch
// (initScript): a Store that starts always finds a sequence with an
// identity to remember.
func (s *Store) initSequence(ctx context.Context) error {
	return s.bounded(ctx, func(ctx context.Context) error {
		return initScript.Exec(ctx, s.client, s.keys, nil).Error()
	})
}
