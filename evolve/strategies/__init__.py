"""Search strategies: which program is the next parent (``selectors``), the Pareto front
over score and cost (``pareto``), and when a campaign stops (``stoppers``). Each is a
documented Protocol a caller may implement and pass in place of a configured name."""
