"""The template under test: readers of its domain XML, the rules that judge it, the throwaway
instance a guest boots from, and whose problem it is when libvirt refuses it."""
