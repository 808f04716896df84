// Package vault is the hardware vault: its data ([Vault], [Account],
// [Activation], [Event]), the [Store] interface that keeps it, and the
// [Service] that applies every lifecycle command to it safely.
package vault
