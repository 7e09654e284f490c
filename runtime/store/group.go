package store

import (
	"context"
)

// Committer is what a GroupCommitter commits through (a Store).
type Committer interface {
	Commit(ctx context.Context, b *Batch) ([]UnitResult, error)
}

// GroupOptions tunes a GroupCommitter.
type GroupOptions struct {
	// MaxBatch caps the units of one transaction (default 512).
	MaxBatch int
}

// GroupCommitter turns concurrent Submit calls into batches (a Batcher of
// units): while one transaction commits, the units that arrive wait; when
// it is done they all go into the next transaction (up to MaxBatch), and
// each caller is answered once its batch has committed. Under load the
// fsync of each commit is shared by everyone who arrived meanwhile.
//
// It is dialect-independent: one goroutine commits through the Committer.
type GroupCommitter struct {
	b *Batcher[*Unit, UnitResult]
}

// NewGroupCommitter starts the commit loop; Close stops it.
func NewGroupCommitter(c Committer, opts GroupOptions) *GroupCommitter {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 512
	}
	return &GroupCommitter{b: NewBatcher(opts.MaxBatch, func(units []*Unit) []Result[UnitResult] {
		// The batch's own context: one caller giving up must not abort the others.
		res, err := c.Commit(context.Background(), &Batch{Units: units})
		out := make([]Result[UnitResult], len(units))
		for i := range out {
			if err != nil {
				out[i].Err = err
			} else {
				out[i].Value = res[i]
			}
		}
		return out
	})}
}

// Submit commits u in the next batch and returns its result (see Outcome).
// An error means the unit's batch was not known to commit: do not
// acknowledge; retrying is safe (see Store.Commit). If ctx ends first,
// Submit returns ctx.Err() and the unit may still commit: that is an
// unknown outcome too. A unit whose ctx ended before its batch began is
// dropped without being written.
func (g *GroupCommitter) Submit(ctx context.Context, u *Unit) (UnitResult, error) {
	return g.b.Do(ctx, u)
}

// Close commits what was submitted before it, then stops; later Submits
// return ErrClosed. It does not close the Committer.
func (g *GroupCommitter) Close() error { return g.b.Close() }
