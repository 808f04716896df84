package status

import (
	"fmt"
	"strings"
)

// DOT returns the lifecycle graph in Graphviz DOT. The output is
// deterministic: nodes in [Statuses] order, edges in [Transitions] order.
// The terminal status is drawn with a double border.
func DOT() string {
	var b strings.Builder
	b.WriteString("digraph lifecycle {\n")
	b.WriteString("\trankdir=LR;\n")
	b.WriteString("\tnode [shape=box, style=rounded];\n")
	for _, s := range Statuses() {
		if s.IsTerminal() {
			fmt.Fprintf(&b, "\t%v [peripheries=2];\n", s)
		} else {
			fmt.Fprintf(&b, "\t%v;\n", s)
		}
	}
	for _, e := range lifecycle.edges {
		fmt.Fprintf(&b, "\t%v -> %v [label=%q];\n", e.From, e.To, e.Trigger.String())
	}
	b.WriteString("}\n")
	return b.String()
}

// Mermaid returns the lifecycle graph as a Mermaid stateDiagram-v2, ready
// to paste into Markdown. The output is deterministic: vaults enter Ready
// on import, edges follow [Transitions] order, and the terminal status
// leads to the end state.
func Mermaid() string {
	var b strings.Builder
	b.WriteString("stateDiagram-v2\n")
	fmt.Fprintf(&b, "    [*] --> %v: Import\n", Ready)
	for _, e := range lifecycle.edges {
		fmt.Fprintf(&b, "    %v --> %v: %v\n", e.From, e.To, e.Trigger)
	}
	for _, s := range Statuses() {
		if s.IsTerminal() {
			fmt.Fprintf(&b, "    %v --> [*]\n", s)
		}
	}
	return b.String()
}
