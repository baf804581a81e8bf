"""Plan the activation memory of a graph offline: one static arena, every tensor at a fixed offset.

1. **Lifetimes.** A tensor is alive from the op that writes it to the last op that reads it
   (the model's input from the first op, its output to the last).
2. **Sharing.** Some tensors need no memory of their own:
   - a reshape (``RESHAPE``, ``EXPAND_DIMS``, ``SQUEEZE``) does not move a byte, so its output
     *is* its input (zero-copy);
   - an element-wise op (``ADD``) may write its output over an input that nobody reads later;
   - a depthwise convolution may too (in place, as MCUNet's TinyEngine does): channel c of its
     output only lands where channel c of its input was, and the kernel copies each input channel
     (padded) to a small scratch buffer before it computes it anyway;
   - so may a 1x1 convolution with stride 1 and no more output than input channels: output pixel i
     needs only input pixel i, goes to a scratch buffer of one pixel, then to where pixel i began.
   Tensors that share memory form one *buffer*, alive from the first write to the last read; its
   size at op i is that of the largest of its tensors alive at op i (a depthwise layer with stride 2,
   in place, leaves a quarter of its input's bytes: the rest is free again for the next op).
3. **Placement**, greedy by size as TensorFlow Lite Micro's GreedyMemoryPlanner does: largest
   buffer first, each at the lowest offset where it overlaps no placed buffer at any op where both
   are alive.

No placement can beat the **lower bound**: the most bytes alive at the same op,
``max_i sum(size at op i of the buffers alive at op i)``. Compare ``arena_bytes`` with it.
"""

from dataclasses import dataclass, field

from scaledown.deploy.compiler.reader import RESHAPES

ALIGNMENT = 16  # bytes; every buffer starts at a multiple of this


@dataclass
class Buffer:
    """A block of the arena: the tensors (by index) that share it, its lifetime (op positions) and its
    size at each op of that lifetime (``sizes[i - first_op]``)."""

    name: str
    tensors: list
    first_op: int
    last_op: int
    sizes: list
    offset: int = None

    @property
    def size(self):
        return max(self.sizes)

    def size_at(self, op):
        return self.sizes[op - self.first_op] if self.first_op <= op <= self.last_op else 0

    def common_ops(self, other):
        return range(max(self.first_op, other.first_op), min(self.last_op, other.last_op) + 1)

    def alive_with(self, other):
        return len(self.common_ops(other)) > 0

    def collides_with(self, other, offset):
        """Would this buffer at ``offset`` share a byte with ``other`` at some op where both are alive?"""
        return any(
            offset < other.offset + other.size_at(i) and other.offset < offset + self.size_at(i)
            for i in self.common_ops(other)
        )


@dataclass
class MemoryPlan:
    buffers: list
    op_names: list  # one per planned op, e.g. "CONV_2D #0"
    in_place: set = field(default_factory=set)  # op positions that write over their input
    scratch: dict = field(default_factory=dict)  # op position -> Buffer of its scratch memory
    offsets: dict = field(default_factory=dict)  # tensor index -> offset in the arena

    @property
    def arena_bytes(self):
        return max((b.offset + b.size for b in self.buffers), default=0)

    @property
    def lower_bound_bytes(self):
        return _peak_alive(self.buffers, len(self.op_names))

    def to_json(self):
        return {
            "arena_bytes": self.arena_bytes,
            "lower_bound_bytes": self.lower_bound_bytes,
            "buffers": [
                {
                    "tensor": b.name,
                    "offset": b.offset,
                    "size": b.size,
                    "first_op": b.first_op,
                    "last_op": b.last_op,
                    "size_per_op": b.sizes,
                }
                for b in sorted(self.buffers, key=lambda b: (b.first_op, b.offset))
            ],
            "ops": self.op_names,  # first_op and last_op index this list (reshapes included)
        }


def plan_memory(graph, in_place=True):
    """Plan the arena for ``graph`` (from ``read_tflite``); ``in_place=False`` plans without in-place ops.

    Returns a ``MemoryPlan``: ``arena_bytes``, ``lower_bound_bytes``, ``buffers`` (with offsets),
    ``offsets[tensor_index]`` and, per in-place depthwise op, ``scratch[position]``.
    """
    ops = graph.ops
    activations = _activation_tensors(graph)
    first, last = {}, {}
    for position, op in enumerate(ops):
        for t in _data_inputs(op):
            if t in activations:
                last[t] = position
        for t in op.outputs:
            first.setdefault(t, position)
    for t in graph.inputs:
        first[t] = 0
    for t in graph.outputs:
        last[t] = len(ops) - 1

    group = {t: t for t in activations}  # union-find: tensor -> representative

    def root(t):
        while group[t] != t:
            t = group[t]
        return t

    def members(t):
        return [u for u in activations if root(u) == root(t)]

    plan = MemoryPlan([], [f"{op.kind} #{op.index}" for op in ops])
    for position, op in enumerate(ops):
        if op.kind in RESHAPES:
            group[root(op.outputs[0])] = root(op.inputs[0])
        elif in_place and _can_write_over_input(graph, op):
            for t in _data_inputs(op):
                if t in activations and max(last.get(u, first[u]) for u in members(t)) == position:
                    group[root(op.outputs[0])] = root(t)
                    plan.in_place.add(position)
                    break

    roots = {}
    for t in activations:
        roots.setdefault(root(t), []).append(t)
    for tensors in roots.values():
        tensors.sort(key=lambda t: first[t])
        start, end = min(first[t] for t in tensors), max(last.get(t, first[t]) for t in tensors)
        sizes = [
            max((graph.tensors[t].nbytes for t in tensors if first[t] <= i <= last.get(t, first[t])), default=0)
            for i in range(start, end + 1)
        ]
        plan.buffers.append(Buffer(graph.tensors[tensors[0]].name, tensors, start, end, sizes))
    for position, op in enumerate(ops):
        size = _scratch_bytes(graph, op, position in plan.in_place)
        if size:
            plan.scratch[position] = Buffer(f"scratch of {plan.op_names[position]}", [], position, position, [size])
            plan.buffers.append(plan.scratch[position])

    _place_greedy_by_size(plan.buffers)
    for b in plan.buffers:
        for t in b.tensors:
            plan.offsets[t] = b.offset
    return plan


def _scratch_bytes(graph, op, in_place):
    """Extra bytes an op needs while it runs: a convolution's window (k_h x k_w x in_c), one output pixel
    (a 1x1 convolution in place), or one input channel padded so that every window lies inside it
    (depthwise): (out_h - 1) * stride + (k - 1) * dilation + 1 rows, and the same for columns."""
    y = graph.tensors[op.outputs[0]]
    if op.kind == "CONV_2D" and in_place:
        return y.shape[3]
    if op.kind == "CONV_2D":
        _, k_h, k_w, in_c = graph.tensors[op.inputs[1]].shape
        pointwise = (k_h, k_w) == (1, 1) and op.options["stride"] == (1, 1)  # no window to gather
        return 0 if pointwise else k_h * k_w * in_c
    if op.kind == "DEPTHWISE_CONV_2D":
        _, k_h, k_w, _ = graph.tensors[op.inputs[1]].shape
        (stride_h, stride_w), (dilation_h, dilation_w) = op.options["stride"], op.options["dilation"]
        return ((y.shape[1] - 1) * stride_h + (k_h - 1) * dilation_h + 1) * (
            (y.shape[2] - 1) * stride_w + (k_w - 1) * dilation_w + 1
        )
    return 0


def _activation_tensors(graph):
    """Tensors that hold run-time data: every data input or output of an op that is not a constant."""
    seen = []
    for op in graph.ops:
        for t in _data_inputs(op) + op.outputs:
            if t >= 0 and graph.tensors[t].data is None and t not in seen:
                seen.append(t)
    return seen


def _data_inputs(op):
    return [t for t in op.inputs[: 1 if op.kind in RESHAPES + ("MEAN",) else len(op.inputs)] if t >= 0]


def _can_write_over_input(graph, op):
    if op.kind == "ADD":
        a, b = (graph.tensors[t] for t in op.inputs[:2])
        return a.shape == b.shape == graph.tensors[op.outputs[0]].shape
    if op.kind == "DEPTHWISE_CONV_2D":
        x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
        return op.options["depth_multiplier"] == 1 and x.shape[3] == y.shape[3] and y.nbytes <= x.nbytes
    if op.kind == "CONV_2D":
        x, w, y = (graph.tensors[t] for t in op.inputs[:2] + op.outputs)
        return (
            w.shape[1:3] == (1, 1)
            and op.options["stride"] == (1, 1)
            and x.shape[:3] == y.shape[:3]
            and y.shape[3] <= x.shape[3]
        )
    return False


def _align(n):
    return (n + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


def _place_greedy_by_size(buffers):
    """Largest first; each at the lowest aligned offset where it collides with no placed buffer.

    The offsets worth trying are 0 and the aligned end of a placed buffer at an op both are alive."""
    placed = []
    for b in sorted(buffers, key=lambda b: (-b.size, b.first_op)):
        others = [p for p in placed if p.alive_with(b)]
        candidates = sorted({0} | {_align(p.offset + p.size_at(i)) for p in others for i in b.common_ops(p)})
        b.offset = next(c for c in candidates if not any(b.collides_with(p, c) for p in others))
        placed.append(b)


def _peak_alive(buffers, num_ops):
    return max((sum(b.size_at(i) for b in buffers) for i in range(num_ops)), default=0)


def draw_plan(plan, ax=None):
    """Draw the plan: each buffer a box over its lifetime (op positions) x its addresses; the lower bound dashed."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(max(6, 0.45 * len(plan.op_names)), 4))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, b in enumerate(sorted(plan.buffers, key=lambda b: b.first_op)):
        outline = [(b.first_op - 0.4, b.offset)]  # a skyline: the buffer's size at each op
        for op, size in enumerate(b.sizes, start=b.first_op):
            outline += [
                (max(op - 0.5, b.first_op - 0.4), b.offset + size),
                (min(op + 0.5, b.last_op + 0.4), b.offset + size),
            ]
        outline.append((b.last_op + 0.4, b.offset))
        ax.add_patch(
            plt.Polygon(
                outline,
                facecolor=colors[i % len(colors)],
                edgecolor="black",
                alpha=0.75,
                hatch="//" if b.name.startswith("scratch") else None,
            )
        )
        if b.size >= 0.06 * plan.arena_bytes:
            ax.text(
                (b.first_op + b.last_op) / 2, b.offset + b.size / 2, f"{b.size:,}", ha="center", va="center", fontsize=7
            )
    ax.axhline(plan.arena_bytes, color="black", lw=1, label=f"arena {plan.arena_bytes:,} B")
    ax.axhline(plan.lower_bound_bytes, color="red", ls="--", lw=1, label=f"lower bound {plan.lower_bound_bytes:,} B")
    ax.set_xlim(-0.6, len(plan.op_names) - 0.4)
    ax.set_ylim(0, 1.08 * plan.arena_bytes)
    ax.set_xticks(range(len(plan.op_names)), plan.op_names, rotation=90, fontsize=7)
    ax.set_ylabel("arena offset (bytes)")
    ax.legend(loc="upper right", fontsize=8)
    return ax
