import { mount } from 'svelte';
import '../ui/ui.css';
import Approval from './Approval.svelte';

mount(Approval, { target: document.body });
