"""How a training run shows its progress: a bar per epoch where a person watches, a line per epoch always."""

from __future__ import annotations

from cnnzoo.display import live, progress_bar


class EpochProgress:
    """A live bar per epoch in a terminal (stderr) or a notebook; otherwise one plain line per epoch on stdout."""

    def __init__(self, *, quiet: bool, epochs: int, steps_per_epoch: int) -> None:
        self.quiet = quiet
        self.epochs = epochs
        self.steps_per_epoch = steps_per_epoch
        self.live = not quiet and live()
        self.bar = None
        self.done = 0

    def epoch_start(self, epoch: int) -> None:
        if self.live:  # a widget in Jupyter, text on a terminal
            self.bar = progress_bar(self.steps_per_epoch, f"epoch {epoch + 1}/{self.epochs}", dynamic_ncols=True)
            self.done = 0

    def refresh(self, step_in_epoch: int, loss: float, acc: float, images_per_s: float, lr: float) -> None:
        if self.bar is not None:
            self.bar.update(step_in_epoch - self.done)
            self.done = step_in_epoch
            self.bar.set_postfix(
                loss=f"{loss:.4f}", acc=f"{100 * acc:.2f}%", img_s=f"{images_per_s:,.0f}", lr=f"{lr:.4g}"
            )

    def epoch_done(self, row: dict, improved: bool) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if self.quiet:
            return
        line = (
            f"epoch {row['epoch']}/{self.epochs}  step {row['step']}  lr {row['lr']:.4g}  "
            f"train loss {row['train_loss']:.4f} acc {100 * row['train_acc']:.2f}%"
        )
        if row.get("val_top1") is not None:
            line += (
                f"  val loss {row['val_loss']:.4f} top1 {100 * row['val_top1']:.2f}% top5 {100 * row['val_top5']:.2f}%"
            )
            line += " *" if improved else ""
        rate = row.get("images_per_s")
        line += f"  {row['time']:.1f}s" + (f"  {rate:,.0f} img/s" if rate else "")
        print(line, flush=True)
